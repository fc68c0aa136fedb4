// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ILicenceRegistry} from "../interfaces/ILicenceRegistry.sol";

/**
 * @title AnchorForwarder
 * @notice Test double of an issuer account that is a contract: it anchors through its own
 * call, so the anchoring transaction is not a direct `anchorBatch` call to the registry.
 * Used by the tests to show the index flags such a batch instead of trusting it.
 */
contract AnchorForwarder {
    /**
     * @notice Anchors `keys` and `bodies` in `registry` as this contract.
     * @param registry The licence registry.
     * @param keys The documents' lookup keys.
     * @param bodies The documents' bodies.
     * @return batchId The batch the registry created.
     */
    function forward(
        ILicenceRegistry registry,
        bytes16[] calldata keys,
        bytes32[] calldata bodies
    ) external returns (uint256 batchId) {
        return registry.anchorBatch(keys, bodies);
    }
}
