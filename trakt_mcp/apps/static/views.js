// Draws a card from a tool result: the data is in result._meta (CARD_KEY), a pending approval in APPROVAL_KEY.
// Every button is a tools/call through the host, so the guard decides on it exactly as on the model's calls.
const CARD_KEY = "trakt-mcp/card";
const APPROVAL_KEY = "guard/approval";
const root = document.getElementById("card");
let context = {};
let shown = null;
const history = [];

function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function applyContext(update) {
  context = { ...context, ...(update || {}) };
  const dark = context.theme ? context.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  const variables = (context.styles && context.styles.variables) || {};
  for (const [name, value] of Object.entries(variables)) {
    if (name.startsWith("--") && value) document.documentElement.style.setProperty(name, value);
  }
}

function textOf(result) {
  return ((result && result.content) || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function posterOf(item, alt) {
  const fallback = h("div", { class: "poster", role: "img", "aria-label": alt }, (item.title || "?").slice(0, 1));
  if (!item.poster) return fallback;
  const image = h("img", { class: "poster", src: item.poster, alt, loading: "lazy" });
  image.addEventListener("error", () => image.replaceWith(fallback));
  return image;
}

function status(message, isError) {
  const line = root.querySelector(".status");
  if (!line) return;
  line.textContent = message || "";
  line.classList.toggle("error", Boolean(isError));
}

async function callTool(name, args) {
  try {
    return await bridge.request("tools/call", { name, arguments: args });
  } catch (error) {
    return { isError: true, content: [{ type: "text", text: String(error.message || error) }] };
  }
}

// A button for one action, as the guard previewed it: greyed with the rule's reason when denied.
function actionButton(action, onClick, extra) {
  const denied = action.state === "deny";
  const label = action.state === "confirm" ? action.label + "…" : action.label;
  const button = h("button", {
    type: "button", disabled: denied, title: action.reason, "data-tool": action.tool,
    "aria-describedby": action.reason ? "why-" + action.tool : null,
    onclick: () => onClick(action, button),
  }, label);
  const why = action.reason ? h("span", { class: "why", id: "why-" + action.tool }, action.reason) : null;
  return h("span", { class: "action" }, button, extra || null, denied ? why : null);
}

async function run(action, button, args) {
  button.disabled = true;
  status("Working…");
  const result = await callTool(action.tool, args || action.arguments);
  button.disabled = false;
  if (result._meta && result._meta[APPROVAL_KEY]) return show(result, true);
  status(textOf(result).split("\n")[0] || (result.isError ? "Failed." : "Done."), result.isError);
  return result;
}

function titleView(card) {
  const rating = h("select", { "aria-label": "Your rating, 1 to 10" },
    [10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((n) => h("option", { value: n, selected: n === 8 }, n + " / 10")));
  const buttons = (card.actions || []).map((action) => action.rating
    ? actionButton(action, (a, b) => {
        const args = JSON.parse(JSON.stringify(a.arguments));
        args.items[0].rating = Number(rating.value);
        return run(a, b, args);
      }, rating)
    : actionButton(action, run));
  const facts = [
    card.year,
    card.rating != null ? "★ " + Number(card.rating).toFixed(1) + (card.votes ? " (" + card.votes.toLocaleString() + " votes)" : "") : null,
    card.runtime ? card.runtime + " min" : null,
    card.certification,
  ].filter(Boolean);
  return h("article", { class: "title", "aria-label": card.title },
    posterOf(card, "Poster of " + card.title),
    h("div", {},
      h("h1", {}, card.title),
      h("div", { class: "facts" }, facts.map((f) => h("span", {}, f))),
      h("div", { class: "genres" }, (card.genres || []).map((g) => h("span", { class: "chip" }, g))),
      h("p", {}, card.overview || ""),
      h("div", { class: "actions" }, buttons),
      h("div", { class: "status", role: "status", "aria-live": "polite" })));
}

function gridView(card) {
  const tiles = (card.items || []).map((item) => {
    const label = item.title + (item.year ? " (" + item.year + ")" : "");
    const open = item.open;
    const body = [posterOf(item, "Poster of " + item.title), h("span", { class: "name" }, item.title),
      h("span", { class: "muted" }, item.year || "")];
    if (!open) return h("div", { class: "tile" }, body);
    return h("button", {
      type: "button", class: "tile", disabled: open.state === "deny", title: open.reason || "Open " + label,
      "aria-label": "Open " + label, "data-tool": open.tool,
      onclick: async (event) => {
        const result = await callTool(open.tool, open.arguments);
        if (result._meta && (result._meta[CARD_KEY] || result._meta[APPROVAL_KEY])) show(result, true);
        else status(textOf(result), result.isError);
      },
    }, body);
  });
  return h("section", { "aria-label": card.heading },
    h("h2", {}, card.heading), h("div", { class: "grid" }, tiles),
    h("div", { class: "status", role: "status", "aria-live": "polite" }));
}

function progressBlock(progress, refresh) {
  if (!progress) return null;
  const share = progress.aired ? Math.round((100 * progress.completed) / progress.aired) : 0;
  const next = progress.next;
  return h("div", {},
    h("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": progress.aired,
      "aria-valuenow": progress.completed, "aria-label": "Episodes watched" }, h("span", { style: "width:" + share + "%" })),
    h("div", { class: "muted" }, progress.completed + " of " + progress.aired + " episodes (" + share + "%)"),
    next ? h("div", { class: "actions" },
      h("span", {}, "Next: S" + String(next.season).padStart(2, "0") + "E" + String(next.number).padStart(2, "0") +
        (next.title ? " “" + next.title + "”" : "")),
      next.mark ? actionButton(next.mark, async (a, b) => {
        const result = await run(a, b);
        if (result && !result.isError && !(result._meta && result._meta[APPROVAL_KEY])) refresh();
      }) : null) : h("div", { class: "muted" }, "All caught up."));
}

function libraryView(card) {
  const refresh = async () => {
    if (!shown || !shown.source) return;
    const result = await callTool(shown.source.name, shown.source.arguments);
    if (result._meta && result._meta[CARD_KEY]) show(result, false, shown.source);
  };
  const rows = (card.items || []).map((item) => h("div", { class: "row" },
    posterOf(item, "Poster of " + item.title),
    h("div", {},
      h("div", {}, h("strong", {}, item.title), " ", h("span", { class: "muted" }, item.year || "")),
      progressBlock(item.progress, refresh),
      (item.seasons || []).length > 1 ? h("div", { class: "muted" }, item.seasons.map((s) =>
        "Season " + s.number + ": " + s.completed + "/" + s.aired).join(" · ")) : null,
      h("div", { class: "actions" }, (item.actions || []).map((a) => actionButton(a, run))))));
  return h("section", { "aria-label": card.heading },
    h("h2", {}, card.heading),
    card.notice ? h("p", { class: "muted notice" }, card.notice) : null,
    rows.length ? h("div", { class: "rows" }, rows) : h("p", { class: "muted" }, "Nothing here yet."),
    h("div", { class: "status", role: "status", "aria-live": "polite" }));
}

// A remote person's approval: their own client may be hostile, so the card cannot answer; it shows the action
// and opens the server's approval page, where their own browser session decides.
function pageApprovalView(ask) {
  const open = async () => {
    try {
      await bridge.request("ui/open-link", { url: ask.approve_url });
      status("Opened the approval page. Decide there, then ask again.");
    } catch (error) {
      status("Open this address in your browser: " + ask.approve_url, true);
    }
  };
  const button = h("button", { type: "button", class: "primary", onclick: open }, "Open the approval page");
  const view = h("section", { class: "approval", role: "alertdialog", "aria-labelledby": "ask-title", "aria-describedby": "ask-effect" },
    h("h2", { id: "ask-title" }, "Needs your approval"),
    h("p", { class: "effect", id: "ask-effect" }, ask.effect),
    h("dl", {},
      h("dt", {}, "Asked by"), h("dd", {}, ask.asked_by || "the assistant"),
      h("dt", {}, "Tool"), h("dd", {}, ask.tool),
      h("dt", {}, "Why asked"), h("dd", {}, ask.rule),
      h("dt", {}, "Decide at"), h("dd", {}, h("code", {}, ask.approve_url))),
    h("p", { class: "muted" }, "Only you can allow this, on the approval page in your browser: this card cannot."),
    h("div", { class: "actions" }, button),
    h("div", { class: "status", role: "status", "aria-live": "polite" }));
  queueMicrotask(() => button.focus());
  return view;
}

function approvalView(ask) {
  if (ask.approve_url) return pageApprovalView(ask);
  const decide = async (allow) => {
    for (const b of root.querySelectorAll(".approval button")) b.disabled = true;
    const result = await callTool(ask.answer_tool, { nonce: ask.nonce, allow });
    const text = textOf(result);
    status(text || (allow ? "Allowed." : "Denied."), result.isError);
    bridge.request("ui/update-model-context", {
      content: [{ type: "text", text: (allow ? "The user allowed: " : "The user denied: ") + ask.effect + "\n" + text }],
    }).catch(() => {});
  };
  const deny = h("button", { type: "button", class: "primary", onclick: () => decide(false) }, "Deny");
  const allow = h("button", { type: "button", onclick: () => decide(true) }, "Allow once");
  const view = h("section", { class: "approval", role: "alertdialog", "aria-labelledby": "ask-title", "aria-describedby": "ask-effect" },
    h("h2", { id: "ask-title" }, "Allow this action?"),
    h("p", { class: "effect", id: "ask-effect" }, ask.effect),
    h("dl", {},
      h("dt", {}, "Asked by"), h("dd", {}, ask.asked_by || "the assistant"),
      h("dt", {}, "Tool"), h("dd", {}, ask.tool),
      h("dt", {}, "Why asked"), h("dd", {}, ask.rule)),
    h("div", { class: "actions" }, deny, allow),
    h("div", { class: "status", role: "status", "aria-live": "polite" }));
  queueMicrotask(() => deny.focus());
  return view;
}

const VIEWS = { title: titleView, grid: gridView, library: libraryView };

function show(result, remember, source) {
  const meta = (result && result._meta) || {};
  const card = meta[CARD_KEY];
  const ask = meta[APPROVAL_KEY];
  if (remember && shown) history.push(shown);
  shown = { result, source: source || (shown && shown.source) };
  root.replaceChildren();
  if (history.length) {
    root.append(h("button", { type: "button", class: "back", onclick: () => {
      const previous = history.pop();
      shown = null;
      show(previous.result, false, previous.source);
    } }, "← Back"));
  }
  if (ask) root.append(approvalView(ask));
  else if (card && VIEWS[card.view]) root.append(VIEWS[card.view](card));
  else root.append(h("pre", { class: "muted" }, textOf(result) || "No card for this answer."));
}

let input = null;
bridge.on("ui/notifications/tool-input", (params) => { input = params.arguments || {}; });
bridge.on("ui/notifications/tool-result", (result) => {
  const name = context.toolInfo && context.toolInfo.tool && context.toolInfo.tool.name;
  show(result, false, name ? { name, arguments: input || {} } : null);
});
bridge.on("ui/notifications/host-context-changed", applyContext);
bridge.on("ui/resource-teardown", () => ({}));
bridge.on("ping", () => ({}));

(async () => {
  applyContext({});
  const init = await bridge.request("ui/initialize", {
    appInfo: { name: "trakt-mcp cards", version: "1" },
    appCapabilities: {},
    protocolVersion: "2026-01-26",
  });
  applyContext(init.hostContext);
  bridge.notify("ui/notifications/initialized", {});
  new ResizeObserver(() => {
    const rect = document.documentElement.getBoundingClientRect();
    bridge.notify("ui/notifications/size-changed", { width: Math.ceil(rect.width), height: Math.ceil(rect.height) });
  }).observe(document.documentElement);
})();
