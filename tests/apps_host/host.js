// A minimal MCP Apps host for the card tests, built on ext-apps' AppBridge: it renders one card in a sandboxed
// iframe (no same-origin), with the CSP the card's resource asks for, and hands the card's tools/call requests
// to the test through window.mcpCall (a Playwright binding to a real MCP client session on our server).
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.modelContext = [];
window.openedLinks = [];

function cspFor(meta) {
  const csp = (meta && meta.ui && meta.ui.csp) || {};
  const images = ["data:", ...(csp.resourceDomains || [])].join(" ");
  const connect = (csp.connectDomains || []).join(" ") || "'none'";
  return `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src ${images}; ` +
    `font-src ${images}; connect-src ${connect}; frame-src 'none'; base-uri 'none'; form-action 'none'`;
}

window.renderCard = async ({ html, meta, toolName, toolInput, toolResult, theme }) => {
  if (window.bridge) await window.bridge.close();
  const slot = document.getElementById("slot");
  slot.replaceChildren();
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("title", toolName);
  slot.append(iframe);

  // Listen before the card loads: its ui/initialize goes out as soon as its script runs.
  const bridge = new AppBridge(
    null,
    { name: "trakt-mcp test host", version: "1.0.0" },
    { serverTools: {}, updateModelContext: { text: {} }, openLinks: {} },
    { hostContext: { theme, displayMode: "inline", platform: "web", toolInfo: { tool: { name: toolName } } } },
  );
  bridge.oncalltool = async (params) => window.mcpCall(params.name, params.arguments || {});
  bridge.onupdatemodelcontext = async (params) => {
    window.modelContext.push(params);
    return {};
  };
  bridge.onopenlink = async ({ url }) => {
    window.openedLinks.push(url);
    return {};
  };
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${height}px`;
  };
  const ready = new Promise((resolve) => {
    bridge.oninitialized = async () => {
      await bridge.sendToolInput({ arguments: toolInput });
      await bridge.sendToolResult(toolResult);
      resolve();
    };
  });
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  const policy = `<meta http-equiv="Content-Security-Policy" content="${cspFor(meta)}">`;
  iframe.srcdoc = html.replace("<head>", "<head>" + policy);
  await ready;
  window.bridge = bridge;
};
