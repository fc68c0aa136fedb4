// Loaded with `node --import` before @ethereumjs/client 0.10.5 (ledger_client/network.py).
// It registers ethereumjs-clique-hooks.mjs, which edits the client's source in memory (the
// installed package is unchanged) to fix what stopped a Clique network from running
// contracts: headers without Clique's 97 bytes of extraData, a VM without a Clique signer
// function, a signer that started "not synchronized", zero-priced relayed transactions
// refused. Each edit is described there; deploy/README.md has the logs.
import { register } from "node:module";

register("./ethereumjs-clique-hooks.mjs", import.meta.url);
