// Compiles contracts/ offline: Hardhat's own compiler download cannot work on a machine without
// internet, so the solc build is the pinned npm `solc` package (solcjs), handed to Hardhat by
// overriding the subtask that would otherwise download one.
const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = require("solc/package.json").version;

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(
      `contracts ask for solc ${args.solcVersion} but only the pinned npm solc ${SOLC_VERSION} ` +
        "is available offline; set solidity.version in hardhat.config.js to match package.json"
    );
  }
  return {
    compilerPath: path.join(path.dirname(require.resolve("solc")), "soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: require("solc").version(),
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // The EVM the contracts target: one setting. "cancun" for anvil and Besu QBFT (shanghaiTime/
      // cancunTime 0 in its genesis); "london" for the @ethereumjs/client Clique test network,
      // whose miner stops at the merge forks (deploy/README.md): LICLEDGER_EVM_VERSION=london.
      evmVersion: process.env.LICLEDGER_EVM_VERSION || "cancun",
    },
  },
  // LICLEDGER_ARTIFACTS / LICLEDGER_HARDHAT_CACHE: a build for another EVM beside the product's
  // (`python -m bench.gas --evm-version london` measures the gas of that build).
  paths: {
    sources: "./contracts",
    artifacts: process.env.LICLEDGER_ARTIFACTS || "./artifacts",
    cache: process.env.LICLEDGER_HARDHAT_CACHE || "./cache",
  },
};
