// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IIssuerDirectory
 * @notice What the licence registry asks the consortium's directory: which region and which
 * agency a chain account acts for. The directory is the one source of truth for it.
 */
interface IIssuerDirectory {
    /**
     * @notice The region and agency id `account` acts for; region 0 when it is not a current
     * account of an active region.
     * @param account A chain account.
     */
    function issuerOf(address account) external view returns (uint32 regionCode, bytes32 agency);
}
