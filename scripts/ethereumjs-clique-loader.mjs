// Loaded with `node --import` before @ethereumjs/client 0.10.5 (ledger_client/network.py).
// Three edits (ethereumjs-clique-hooks.mjs): its VM had no Clique signer function (every
// contract call failed); its eth_estimateGas builds the next header without
// extraData, which a Clique chain refuses ("extraData must be 97 bytes on non-epoch transition
// blocks"), so every gas estimate failed; and its pool refused a zero-priced transaction that a
// peer relayed. The hooks edit its source in memory only: the installed package is unchanged.
import { register } from "node:module";

register("./ethereumjs-clique-hooks.mjs", import.meta.url);
