// Loaded with `node --import` before @ethereumjs/client 0.10.5 (ledger_client/network.py).
// It registers ethereumjs-clique-hooks.mjs, which edits the client's source in memory (the
// installed package is unchanged) to fix what stopped a Clique network from running
// contracts: headers without Clique's 97 bytes of extraData, a VM without a Clique signer
// function, a signer that started "not synchronized", zero-priced relayed transactions
// refused; and what kept three signers from staying on one chain and mining every
// transaction (sync peer choice, block relay, the pool's stale nonces, receipts of refused
// blocks, a fatal miner race). Each edit is described there; deploy/README.md has the logs.
import { register } from "node:module";

register("./ethereumjs-clique-hooks.mjs", import.meta.url);
