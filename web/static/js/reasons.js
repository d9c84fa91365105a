// The reason field of a report or a hide, built the same way on the group page and in the
// practice room (text only, never HTML). Loaded before realtime.js and room.js.
(function () {
  "use strict";

  window.CairnReasons = {
    // A labelled, required textarea named "reason", with a hint read out beside it.
    field: function (fieldId, labelText, hintText) {
      var field = document.createElement("div");
      field.className = "field";
      var label = document.createElement("label");
      label.textContent = labelText;
      label.htmlFor = fieldId;
      var hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = hintText;
      hint.id = fieldId + "-hint";
      var area = document.createElement("textarea");
      area.id = fieldId;
      area.name = "reason";
      area.rows = 2;
      area.required = true;
      area.maxLength = 500;
      area.setAttribute("aria-describedby", hint.id);
      field.appendChild(label);
      field.appendChild(hint);
      field.appendChild(area);
      return field;
    },
    REPORT_HINT: "Only the group's moderators see your report and your name."
  };
})();
