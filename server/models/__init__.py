"""Every ORM table, imported here so Alembic sees the whole schema."""

from server.models.accounts import AuthSession, LoginFailure, PasswordReset, RecoveryCode, User
from server.models.commitments import Checkin, Commitment
from server.models.encouragements import Encouragement
from server.models.events import Event
from server.models.groups import Group, Invite, Membership
from server.models.moderation import AuditEntry, Hidden, Report
from server.models.practice import CalendarFeed, PracticePlan, PracticeSession
from server.models.reminders import GroupReminder, PushDevice, ReminderHabits, ReminderSent
from server.models.roleplay import Feedback, Room, Round, Scenario, Transcript

__all__ = [
    "AuthSession", "Checkin", "Commitment", "Encouragement", "Event", "Group", "Invite", "LoginFailure",
    "Membership", "User", "AuditEntry", "Hidden", "Report", "Feedback", "Room", "Round", "Scenario", "Transcript",
    "GroupReminder", "PushDevice", "ReminderHabits", "ReminderSent", "CalendarFeed", "PracticePlan", "PracticeSession",
    "PasswordReset", "RecoveryCode",
]
