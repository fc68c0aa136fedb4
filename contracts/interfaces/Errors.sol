// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @notice The errors more than one contract of the consortium raises, declared once at file
 * level (as OpenZeppelin does) so that each has one name and one signature everywhere: the
 * Python side decodes reverts by selector and names them by these declarations.
 */

/// @notice An address that must be set (a contract, an account) is zero.
error ZeroAddress();
/// @notice Two lists that go together differ in length: `expected` entries, `actual` given.
error LengthMismatch(uint256 expected, uint256 actual);
/// @notice A region code must be a 6-digit administrative division code.
error InvalidRegion(uint32 region);
/// @notice The caller is not an account of an active region.
error NotAMember(address account);
/// @notice `region` is not an active member of the directory.
error RegionNotActive(uint32 region);
