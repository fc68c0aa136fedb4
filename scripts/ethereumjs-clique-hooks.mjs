// Module hooks for ethereumjs-clique-loader.mjs: source edits of @ethereumjs/client 0.10.5,
// in memory, each failing loudly when the text it edits is not found (another version).
const EDITS = [
  {
    // eth_estimateGas: the trial header gets Clique's 97 bytes of extraData (vanity + seal).
    file: "/@ethereumjs/client/dist/esm/src/rpc/modules/eth.js",
    needle: "timestamp: block.header.timestamp + BIGINT_1,",
    replacement: "timestamp: block.header.timestamp + BIGINT_1, extraData: new Uint8Array(97),",
  },
  {
    // A permissioned network charges no gas (Besu: --min-gas-price=0): a zero-priced
    // transaction that a peer relays is kept, not refused below 0.1 gwei.
    file: "/@ethereumjs/client/dist/esm/src/service/txpool.js",
    needle: "const MIN_GAS_PRICE = BigInt(100000000);",
    replacement: "const MIN_GAS_PRICE = BigInt(0);",
  },
  {
    // The client's own VM is made without the EVM's cliqueSigner option, which a Clique chain
    // needs (COINBASE): every contract call, estimate and block with code failed with "Must
    // include cliqueSigner function if clique/poa is being used for consensus type".
    file: "/@ethereumjs/client/dist/esm/src/execution/vmexecution.js",
    needle: "bls: new MCLBLS(mcl),",
    replacement: "bls: new MCLBLS(mcl), cliqueSigner: __licledgerCliqueSigner,",
    prelude: "import { cliqueSigner as __licledgerCliqueSigner } from '@ethereumjs/block';\n",
  },
];

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  const edits = EDITS.filter((edit) => url.endsWith(edit.file));
  if (edits.length === 0) {
    return result;
  }
  let source = String(result.source);
  for (const edit of edits) {
    if (!source.includes(edit.needle)) {
      throw new Error(`${edit.file}: "${edit.needle}" not found (client version?)`);
    }
    source = (edit.prelude ?? "") + source.replaceAll(edit.needle, edit.replacement);
  }
  return { ...result, source };
}
