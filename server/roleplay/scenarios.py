"""The built-in scenario cards: real situations from codependency recovery.

Each card has the situation, the counterpart's opening line, and how the counterpart
answers the boundary at each intensity: 1 cooperative, 2 pushes back with guilt,
3 escalates. The counterpart plays it; the practitioner practises holding steady.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    situation: str
    opening_line: str
    intensities: tuple[str, str, str]


CARDS: tuple[Card, ...] = (
    Card("guilt-trip", "The guilt trip",
         "A parent calls on Sunday and asks you to drive over today, again, although you told them "
         "this weekend is for resting.",
         "After everything I've done for you, you can't spare one afternoon for your mother?",
         ("Oh. All right, I hadn't thought about how tired you are. Next weekend, then?",
          "Fine. I'll just sit here alone. Don't worry about me, I'm used to it.",
          "You're selfish. Your sister would never treat me like this. Don't bother calling.")),
    Card("name-calling", "Name-calling",
         "In an argument about chores your partner starts calling you names.",
         "God, you're so useless. Can't you do one thing right?",
         ("You're right, that was out of line. I'm sorry. Can we start again?",
          "I only say it because you make me so frustrated. You know I don't mean it.",
          "Oh, here we go, too sensitive to hear the truth. Useless AND dramatic.")),
    Card("yelling", "Yelling",
         "A family member raises their voice at you in the kitchen over a small mistake.",
         "WHY do you ALWAYS do this?",
         ("Sorry. I'm stressed and I took it out on you. I'll calm down.",
          "Well if you didn't keep doing it I wouldn't have to shout, would I?",
          "DON'T you walk away from me while I'm talking to you!")),
    Card("money-again", "Asked for money again",
         "A sibling asks to borrow money for the third time this year; the last two loans were "
         "never paid back.",
         "I just need a few hundred to get through the month. You're the only one I can ask.",
         ("Okay. I get it. I'll figure something else out.",
          "Wow. I thought family helped family. I guess I know where I stand.",
          "You've got plenty! You're really going to let me get evicted over this?")),
    Card("last-minute-favour", "The last-minute favour",
         "A friend texts at 10 pm asking you to look after their dog all day tomorrow, when you "
         "have plans for yourself.",
         "You're a lifesaver, right? It's just one day, he's no trouble at all.",
         ("No worries, I'll ask my neighbour. Have a nice day tomorrow.",
          "I'd do it for you. I always do. I just thought you were a better friend.",
          "Seriously? What plans? You never have plans. You're just being difficult.")),
    Card("covering-drinking", "Covering for someone's drinking",
         "Your partner is hung over and asks you to call their boss and say they have food "
         "poisoning.",
         "Just call them for me, please. You're better at this. They'll believe you.",
         ("All right. I'll call them myself. It's my mess.",
          "So you'd rather I lose my job? Thanks for the support.",
          "After all the times I've covered for you? Pick up the phone. Now.")),
    Card("checks-phone", "A partner who checks your phone",
         "Your partner picks up your phone and starts reading your messages while you're cooking.",
         "Who's this you're texting? Why do you need a password if you've got nothing to hide?",
         ("Sorry. That was a violation. I'm feeling insecure and I should just say that.",
          "If you loved me you wouldn't mind. I only do it because I care.",
          "I knew it. Give me the code or we're done. What are you hiding?")),
    Card("unannounced-visit", "Unannounced visits",
         "A relative turns up at your door without warning for the third time this month, just "
         "as you sit down to rest.",
         "Surprise! I was in the area. Put the kettle on, I'll stay a couple of hours.",
         ("Oh, of course, I should have called. When's a good time?",
          "I didn't know I needed an appointment to see my own family.",
          "Unbelievable. I come all this way and you leave me on the doorstep?")),
    Card("stay-late", "Asked to stay late again",
         "At 5 pm your manager asks you to stay late to finish someone else's report, the third "
         "time this week.",
         "I know it's late, but you're the only one I can count on. It won't take long.",
         ("Understood. I'll ask Sam, or it can wait until the morning.",
          "I thought you were a team player. I'll remember this when reviews come round.",
          "This isn't a request. If you want to keep your job, you'll stay.")),
    Card("crisis-friend", "A friend who only calls in crisis",
         "A friend who only gets in touch when something has gone wrong calls late at night, "
         "again, while you're exhausted.",
         "Everything's falling apart. I need to talk for a few hours. You're always there for me.",
         ("Okay, I understand you're tired. Can we talk tomorrow at lunch?",
          "I thought I could rely on you. I guess nobody really cares.",
          "If something happens to me tonight, that's on you.")),
    Card("unasked-advice", "Advice you did not ask for",
         "While you talk about your week, a friend starts telling you how to fix your life.",
         "Honestly, what you need to do is leave that job and stop being so soft with people.",
         ("Fair. You just wanted to be listened to. Go on, I'm listening.",
          "I'm only trying to help. Nobody else will tell you the truth.",
          "Fine, keep making the same mistakes then. Don't come crying to me.")),
    Card("sibling-comparison", "A parent comparing you to a sibling",
         "At a family dinner your parent compares your life to your sibling's, in front of "
         "everyone.",
         "Your brother has a house and two kids. What are you waiting for?",
         ("You're right, that wasn't fair. I'm proud of you in your own way.",
          "I'm just worried about you. Is it wrong for a parent to worry?",
          "Oh, you can't take a simple question? Your brother never sulks like this.")),
    Card("talked-over", "Being talked over",
         "In a meeting, a colleague keeps talking over you every time you start to speak.",
         "Yeah, yeah, but what we really need to focus on is—",
         ("Oh, sorry, go ahead. I didn't realise I was doing that.",
          "I was just trying to move things along. No need to be touchy.",
          "Look, some of us have actual points to make. Can we get on with it?")),
    Card("inner-boundary", "A promise to yourself",
         "You promised yourself an evening walk and an early night. A voice inside says skip it, "
         "the dishes and emails matter more.",
         "Just this once. You can rest tomorrow. Everyone else needs things from you tonight.",
         ("Okay. The dishes can wait. Go for your walk.",
          "You'll feel guilty all evening if you don't answer them. Is a walk worth that?",
          "Who do you think you are, taking time off? Lazy people rest. Get back to work.")),
    Card("ask-directly", "Asking directly instead of hinting",
         "You want your partner to do the cooking twice a week. Until now you have only sighed "
         "and hinted.",
         "You seem tired. Is something wrong? You keep sighing at the stove.",
         ("Oh, that's fair. Which nights work for you?",
          "I work hard too, you know. I didn't realise I was such a disappointment.",
          "So now I'm the bad guy? You never said anything! How was I supposed to know?")),
    Card("end-the-yelling", "Ending a conversation that turns to yelling",
         "A phone call with a parent turns into shouting. You want to end it calmly and say "
         "when you'll talk again.",
         "You NEVER listen to me! You never have!",
         ("...You're right, I'm shouting. Let's talk tomorrow when I've calmed down.",
          "Oh, so now you're hanging up on your own mother? After everything?",
          "Don't you DARE hang up on me! Do you hear me? DON'T YOU DARE!")),
    Card("holiday-plans", "Holiday plans made for you",
         "A relative announces that everyone, you included, will spend the whole holiday at "
         "their house, as every year.",
         "It's all decided. You're coming on the 23rd and staying the week, like always.",
         ("Oh, I should have asked. Come for the day on the 25th, then?",
          "It won't feel like a family holiday without you. Everyone will ask where you are.",
          "You're breaking this family apart. I don't even know who you are any more.")),
    Card("fixing-feelings", "Taking on someone's bad mood",
         "A housemate is in a bad mood and expects you to fix it, hovering until you drop what "
         "you're doing.",
         "Fine. I'm fine. Don't worry about me. *sighs loudly*",
         ("Sorry. Rough day. I'll tell you about it later if I want to.",
          "I'd just think you'd notice when someone's upset. I always notice when you are.",
          "Typical. I could be falling apart and you'd carry on with your little hobby.")),
)
