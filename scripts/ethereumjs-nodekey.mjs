// Seeds the devp2p node key of an @ethereumjs/client data folder before its first start
// (ledger_client/network.py): the client keeps it in <networkDir>/config under
// "config:client_key" and generates a random one when absent. A fixed key gives each node a
// known enode id, so every node can be started with all the others as static peers at once.
// Usage: node ethereumjs-nodekey.mjs <networkDir> <64 hex digits>
import { Level } from "../chain-client/node_modules/level/index.js";

const [networkDir, keyHex] = process.argv.slice(2);
if (!networkDir || !/^[0-9a-f]{64}$/.test(keyHex ?? "")) {
  console.error("usage: node ethereumjs-nodekey.mjs <networkDir> <64 hex digits>");
  process.exit(2);
}
const db = new Level(`${networkDir}/config`);
await db.put("config:client_key", Uint8Array.from(Buffer.from(keyHex, "hex")), {
  keyEncoding: "utf8",
  valueEncoding: "view",
});
await db.close();
