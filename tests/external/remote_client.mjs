// Plays claude.ai against `trakt-mcp --public-url`: the official TypeScript SDK's OAuth client (`auth()` with an
// OAuthClientProvider) discovers, registers (dynamic registration, or a client ID metadata document), sends the
// person to the authorization URL (printed as {"authorize": url} for the test's browser to follow), receives the
// code on its own loopback callback, exchanges it, then calls fetch_user_watchlist over streamable HTTP, lists the
// tools and tries one write (add_user_ratings): what the person granted on the consent page decides both.
// Usage: node remote_client.mjs SERVER_MCP_URL CALLBACK_PORT dcr|cimd [METADATA_URL]. Prints JSON lines.
import http from "node:http";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [serverUrl, callbackPort, mode, metadataUrl] = process.argv.slice(2);
// A write the person may or may not have granted on the consent page (the "rate" capability).
const RATING = { rating_type: "movies", items: [{ slug: "inception-2010", rating: 9 }] };
const redirectUrl = `http://127.0.0.1:${callbackPort}/callback`;
const say = (value) => console.log(JSON.stringify(value));

let answered;
const callback = new Promise((resolve) => (answered = resolve));
const listener = http.createServer((request, response) => {
  response.setHeader("Content-Type", "text/html");
  response.end("<!doctype html><title>Connected</title><p id=done>You can close this page.</p>");
  answered(new URL(request.url, redirectUrl).searchParams);
});
await new Promise((resolve) => listener.listen(Number(callbackPort), "127.0.0.1", resolve));

let information, tokens, verifier;
const provider = {
  clientMetadataUrl: mode === "cimd" ? metadataUrl : undefined,
  get redirectUrl() {
    return redirectUrl;
  },
  get clientMetadata() {
    return {
      client_name: `TS SDK (${mode})`,
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: mode === "dcr" ? "client_secret_basic" : "none",
    };
  },
  clientInformation: () => information,
  saveClientInformation: (value) => (information = value),
  tokens: () => tokens,
  saveTokens: (value) => (tokens = value),
  redirectToAuthorization: (url) => say({ authorize: url.toString() }),
  saveCodeVerifier: (value) => (verifier = value),
  codeVerifier: () => verifier,
};

try {
  const first = await auth(provider, { serverUrl });
  const params = await callback;
  const code = params.get("code");
  if (!code) throw new Error(`no code: ${params.toString()}`);
  const second = await auth(provider, { serverUrl, authorizationCode: code });
  const client = new Client({ name: "ts-remote-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider }));
  const result = await client.callTool({ name: "fetch_user_watchlist", arguments: {} });
  const text = result.content.filter((block) => block.type === "text").map((block) => block.text).join("\n");
  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  let write;
  try {
    const rated = await client.callTool({ name: "add_user_ratings", arguments: RATING });
    write = { isError: Boolean(rated.isError), text: rated.content.map((block) => block.text ?? "").join("\n") };
  } catch (error) {
    write = { isError: true, text: String(error?.message ?? error) };
  }
  await client.close();
  say({
    first,
    second,
    iss: params.get("iss"),
    clientId: information.client_id,
    authMethod: information.token_endpoint_auth_method ?? null,
    hasSecret: Boolean(information.client_secret),
    watchlist: text,
    isError: Boolean(result.isError),
    tools,
    write,
    tokens,
  });
} catch (error) {
  say({ error: String(error?.stack ?? error) });
  process.exitCode = 1;
} finally {
  listener.close();
}
