// Drives `python -m trakt_mcp --sandbox` over stdio with the official TypeScript MCP SDK (what Claude Desktop,
// Cursor and VS Code speak): initialize, list tools, call a read tool, sign in, then a clear_auth that the guard
// confirms through an elicitation the handler accepts. Prints one JSON object for the Python test to check.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [python, home] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: python,
  args: ["-m", "trakt_mcp", "--sandbox"],
  env: { ...process.env, TRAKT_MCP_HOME: home },
  stderr: "ignore",
});
const client = new Client({ name: "ts-external-test", version: "1.0.0" }, { capabilities: { elicitation: {} } });
const asked = [];
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push(request.params.message);
  return { action: "accept", content: { confirm: true } };
});

const text = (result) => result.content.filter((block) => block.type === "text").map((block) => block.text).join("\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await client.connect(transport);
const tools = await client.listTools();
const trending = await client.callTool({ name: "fetch_trending_shows", arguments: { limit: 3 } });
const started = await client.callTool({ name: "start_device_auth", arguments: {} });
let status = "";
for (let attempt = 0; attempt < 15; attempt++) {
  status = text(await client.callTool({ name: "check_auth_status", arguments: {} }));
  if (/signed in/i.test(status) && !/not signed in/i.test(status)) break;
  await sleep(1000);
}
const cleared = await client.callTool({ name: "clear_auth", arguments: {} });
await client.close();
console.log(
  JSON.stringify({
    server: client.getServerVersion(),
    toolNames: tools.tools.map((tool) => tool.name),
    trending: text(trending),
    started: text(started),
    status,
    asked,
    cleared: text(cleared),
    clearedIsError: Boolean(cleared.isError),
  }),
);
