// The segment rule builder on an audience's page: rows of field, operator and value, nested
// groups each matching all or any of their rules, written as the rules JSON into the hidden
// input the form submits. After every change (400 ms after the last) it asks the server how many
// recipients the rules select, and shows the count, the first ten and the rules' problems.
// Every field, operator and choice comes from the server (the "segment-vocabulary" script), and
// every word it shows, in the person's language (the "segment-words" script); nothing here knows
// the rules' vocabulary or a language.
"use strict";
function startSegmentBuilder() {
  const builder = document.querySelector(".segment-builder");
  if (!builder) return;
  const vocabulary = JSON.parse(document.getElementById("segment-vocabulary").textContent);
  const words = JSON.parse(document.getElementById("segment-words").textContent);
  const input = document.getElementById(builder.dataset.input);
  const tree = builder.querySelector(".segment-rules");
  const fields = new Map(vocabulary.fields.map((field) => [field.name, field]));
  const noValue = new Set(vocabulary.no_value);
  const DEBOUNCE_MS = 400;
  let rules = parse(input.value);
  let timer = null;
  let asked = 0;

  function parse(text) {
    try {
      const value = JSON.parse(text);
      if (value && typeof value === "object" && Array.isArray(value.rules)) return value;
    } catch (error) {
      // Not JSON (a new segment): start from an empty group.
    }
    return { match: "all", rules: [] };
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "value") node.value = value;
      else node.setAttribute(name, value);
    });
    children.flat().forEach((child) => {
      if (child !== null && child !== undefined) {
        node.append(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function select(choices, current, onchange, attributes) {
    const node = element("select", { ...attributes, onchange: (event) => onchange(event.target.value) });
    choices.forEach(([value, label]) => node.append(element("option", { value: String(value) }, label)));
    if (current !== undefined && current !== null && current !== "") {
      const wanted = String(current);
      if (![...node.options].some((option) => option.value === wanted)) {
        node.append(element("option", { value: wanted }, `#${wanted}`));
      }
      node.value = wanted;
    }
    return node;
  }

  function textInput(type, value, oninput, attributes) {
    return element("input", {
      type,
      value: value === undefined || value === null ? "" : String(value),
      oninput: (event) => oninput(event.target.value),
      ...attributes,
    });
  }

  // What a condition's value looks like, from its field's type and its operator.
  function shape(field, op) {
    if (noValue.has(op)) return "none";
    if (["channel", "audience", "delivery", "sms"].includes(field.type)) return field.type;
    if (op === "between") return "between";
    if (op === "within_days" || op === "older_than_days") return "days";
    if (op === "in") return "list";
    return field.type;
  }

  function firstValue(choices) {
    return choices.length ? String(choices[0][0]) : "";
  }

  function emptyValue(field, op) {
    switch (shape(field, op)) {
      case "none":
        return undefined;
      case "between":
        return ["", ""];
      case "list":
        return [];
      case "channel":
        return firstValue(vocabulary.channels);
      case "audience":
        return firstValue(vocabulary.audiences);
      case "delivery":
        return { status: firstValue(vocabulary.delivery_statuses), within_days: 30 };
      case "sms":
        return { event: firstValue(vocabulary.sms_events), within_days: 30 };
      default:
        return "";
    }
  }

  function condition(name) {
    const field = fields.get(name);
    const op = field.operators[0][0];
    const rule = { field: name, op };
    const value = emptyValue(field, op);
    if (value !== undefined) rule.value = value;
    return rule;
  }

  // The engagement value: the campaign and the days only when given.
  function engagementInputs(rule, what, choices) {
    const value = rule.value && typeof rule.value === "object" ? rule.value : {};
    rule.value = value;
    const optional = (key, text) => {
      if (text === "") delete value[key];
      else value[key] = text;
    };
    const campaigns = [["", words.any_campaign], ...vocabulary.campaigns];
    const parts = [
      select(choices, value[what], (chosen) => {
        value[what] = chosen;
        if (chosen !== "clicked") delete value.link;
        redraw();
      }, { "aria-label": words[what] }),
      words.in,
      select(campaigns, value.campaign, (chosen) => {
        optional("campaign", chosen);
        changed();
      }, { "aria-label": words.campaign }),
      words.within,
      textInput("number", value.within_days, (text) => {
        optional("within_days", text);
        changed();
      }, { min: "0", step: "1", class: "segment-days", "aria-label": words.within_days, placeholder: words.any_number }),
      words.days,
    ];
    if (what === "event" && value.event === "clicked") {
      parts.push(words.on, textInput("url", value.link, (text) => {
        optional("link", text);
        changed();
      }, { class: "segment-link", placeholder: words.any_link, "aria-label": words.link }));
    }
    return parts;
  }

  function valueInputs(rule, field) {
    const set = (value) => {
      rule.value = value;
      changed();
    };
    switch (shape(field, rule.op)) {
      case "none":
        return [];
      case "text":
        return [textInput("text", rule.value, set, { "aria-label": words.value })];
      case "number":
        return [textInput("number", rule.value, set, { step: "any", "aria-label": words.value })];
      case "date":
        return [textInput("date", rule.value, set, { "aria-label": words.value })];
      case "days":
        return [
          textInput("number", rule.value, set, { min: "0", step: "1", class: "segment-days", "aria-label": words.days_label }),
          words.days,
        ];
      case "between": {
        const kind = field.type === "date" ? "date" : "number";
        const pair = Array.isArray(rule.value) ? rule.value : ["", ""];
        rule.value = pair;
        const end = (index, label) =>
          textInput(kind, pair[index], (text) => {
            pair[index] = text;
            changed();
          }, { step: "any", "aria-label": label });
        return [end(0, words.from), words.and, end(1, words.to)];
      }
      case "list": {
        const items = Array.isArray(rule.value) ? rule.value : [];
        const area = element("textarea", {
          rows: "3",
          placeholder: words.one_per_line,
          "aria-label": words.values_one_per_line,
          oninput: (event) => set(event.target.value.split("\n").map((line) => line.trim()).filter(Boolean)),
        });
        area.value = items.join("\n");
        return [area];
      }
      case "channel":
        return [select(vocabulary.channels, rule.value, set, { "aria-label": words.channel })];
      case "audience":
        if (!vocabulary.audiences.length) return [element("span", { class: "help" }, words.no_other_audience)];
        return [select(vocabulary.audiences, rule.value, (chosen) => set(Number(chosen)), { "aria-label": words.audience })];
      case "delivery":
        return engagementInputs(rule, "status", vocabulary.delivery_statuses);
      case "sms":
        return engagementInputs(rule, "event", vocabulary.sms_events);
      default:
        return [textInput("text", rule.value, set, { "aria-label": words.value })];
    }
  }

  function fieldChoices(current) {
    const groups = [
      [words.group_recipient, (field) => !field.name.startsWith("attributes.") && !isSpecial(field)],
      [words.group_attributes, (field) => field.name.startsWith("attributes.")],
      [words.group_special, isSpecial],
    ];
    const node = element("select", { class: "segment-field", "aria-label": words.field });
    groups.forEach(([label, belongs]) => {
      const options = vocabulary.fields.filter(belongs);
      if (!options.length) return;
      node.append(element("optgroup", { label },
        options.map((field) => element("option", { value: field.name }, field.label))));
    });
    if (!fields.has(current)) node.append(element("option", { value: current }, words.unknown_field.replace("%(field)s", current)));
    node.value = current;
    return node;
  }

  function isSpecial(field) {
    return ["channel", "audience", "delivery", "sms"].includes(field.type);
  }

  function conditionRow(rule, parent, index, number) {
    const field = fields.get(rule.field);
    const remove = element("button", {
      type: "button",
      class: "segment-remove",
      title: words.remove_condition,
      onclick: () => {
        parent.rules.splice(index, 1);
        redraw();
      },
    }, "×");
    const picker = fieldChoices(rule.field);
    picker.addEventListener("change", (event) => {
      parent.rules[index] = condition(event.target.value);
      redraw();
    });
    if (!field) {
      return element("div", { class: "segment-condition" }, element("span", { class: "segment-number" }, number), picker, remove);
    }
    const operators = select(field.operators, rule.op, (op) => {
      const before = shape(field, rule.op);
      rule.op = op;
      if (shape(field, op) !== before) {
        const value = emptyValue(field, op);
        if (value === undefined) delete rule.value;
        else rule.value = value;
      }
      redraw();
    }, { class: "segment-op", "aria-label": words.operator });
    return element("div", { class: "segment-condition" },
      element("span", { class: "segment-number" }, number),
      picker, operators,
      element("span", { class: "segment-value" }, valueInputs(rule, field)),
      remove);
  }

  function groupBox(group, parent, index, number) {
    const nested = parent !== null;
    const items = group.rules.map((rule, position) => {
      const child = number ? `${number}.${position + 1}` : String(position + 1);
      return Array.isArray(rule.rules)
        ? groupBox(rule, group, position, child)
        : conditionRow(rule, group, position, child);
    });
    const match = select([["all", words.all], ["any", words.any]], group.match, (chosen) => {
      group.match = chosen;
      redraw();
    }, { class: "segment-match", "aria-label": words.match });
    const head = nested
      ? [element("span", { class: "segment-number" }, number), words.group_match, match, words.group_of]
      : [words.recipients_match, match, words.of_these_conditions];
    const tools = [
      element("button", {
        type: "button",
        class: "segment-add-condition",
        onclick: () => {
          group.rules.push(condition(vocabulary.fields[0].name));
          redraw();
        },
      }, words.add_condition),
      element("button", {
        type: "button",
        class: "segment-add-group",
        onclick: () => {
          group.rules.push({ match: "any", rules: [condition(vocabulary.fields[0].name)] });
          redraw();
        },
      }, words.add_group),
    ];
    if (nested) {
      tools.push(element("button", {
        type: "button",
        class: "segment-remove-group",
        onclick: () => {
          parent.rules.splice(index, 1);
          redraw();
        },
      }, words.remove_group));
    }
    return element("div", { class: nested ? "segment-group nested" : "segment-group" },
      element("div", { class: "segment-group-head" }, head),
      element("div", { class: "segment-items" },
        items.length ? items : element("p", { class: "help" }, words.no_conditions)),
      element("div", { class: "segment-group-tools" }, tools));
  }

  function redraw() {
    tree.replaceChildren(groupBox(rules, null, 0, ""));
    changed();
  }

  function changed() {
    input.value = JSON.stringify(rules);
    window.clearTimeout(timer);
    timer = window.setTimeout(count, DEBOUNCE_MS);
  }

  const countText = builder.querySelector("[data-segment-count]");
  const problems = builder.querySelector(".segment-problems");
  const sample = builder.querySelector(".segment-sample");

  function show(answer) {
    if (answer.count === null || answer.count === undefined) {
      countText.textContent = "—";
    } else {
      // Counted, grouped and pluralised by the server, in the person's language.
      countText.textContent = answer.count_text;
    }
    problems.replaceChildren(...(answer.errors || []).map((text) => element("li", {}, text)));
    problems.hidden = !problems.children.length;
    const rows = (answer.sample || []).map((person) =>
      element("tr", {},
        element("td", {}, element("a", { href: person.url }, person.external_id)),
        element("td", {}, person.name)));
    sample.querySelector("tbody").replaceChildren(...rows);
    sample.hidden = !rows.length;
  }

  function count() {
    if (builder.closest(".form-row").style.display === "none") return;
    const mine = ++asked;
    countText.textContent = words.counting;
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    fetch(builder.dataset.countUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token ? token.value : "",
      },
      body: JSON.stringify({ rules, audience: builder.dataset.audience || null }),
    })
      .then((response) =>
        response.json().catch(() => ({ count: null, errors: [words.count_failed.replace("%(status)s", response.status)] })))
      .then((answer) => {
        if (mine === asked) show(answer);
      })
      .catch(() => {
        if (mine === asked) show({ count: null, errors: [words.unreachable] });
      });
  }

  // On a new audience the builder shows only while "Segment" is the chosen kind.
  const kinds = document.querySelectorAll("input[name=kind]");
  function followKind() {
    const chosen = document.querySelector("input[name=kind]:checked");
    builder.closest(".form-row").style.display = !chosen || chosen.value === "segment" ? "" : "none";
  }
  kinds.forEach((radio) =>
    radio.addEventListener("change", () => {
      followKind();
      count();
    }));
  tree.replaceChildren(groupBox(rules, null, 0, ""));
  input.value = JSON.stringify(rules);
  followKind();
  count();
}

// Admin loads form media in the page's head, before the builder exists.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", startSegmentBuilder);
} else {
  startSegmentBuilder();
}
