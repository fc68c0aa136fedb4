// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRegionDirectory} from "./interfaces/IRegionDirectory.sol";
import {ISharingLedger} from "./interfaces/ISharingLedger.sol";
import {ZeroAddress, NotAMember, RegionNotActive} from "./interfaces/Errors.sol";

/**
 * @title SharingLedger
 * @notice Provenance of every cross-region data flow: holders' consents and the data releases
 * made under them, as hashes only.
 *
 * A consent (the holder's permission to share one licence, or with a zero leaf every licence
 * of a kind, with one grantee region until a time) is recorded by the region holding the data.
 * Every release of data to another region names the consent it relies on; the chain refuses a
 * release the consent does not cover, so the record of releases is also a proof that each
 * was allowed when it happened. The hashes are computed off-chain (salted where they stand for
 * personal data), so nothing here identifies a person. Only accounts of active regions in the
 * `RegionDirectory` write.
 */
contract SharingLedger is ISharingLedger {
    IRegionDirectory private immutable _directory;
    mapping(bytes32 consentHash => Consent) private _consents;
    mapping(bytes32 receiptHash => Release) private _releases;

    /**
     * @param regionDirectory The consortium's `RegionDirectory`, which says who may write.
     */
    constructor(address regionDirectory) {
        if (regionDirectory == address(0)) revert ZeroAddress();
        _directory = IRegionDirectory(regionDirectory);
    }

    // ----------------------------------------------------------------------------- writes

    /**
     * @notice Records a holder's consent, given to the caller's region, to share `leaf` with
     * `granteeRegion` until `validUntil`.
     * @param consentHash Hash identifying the consent (of the signed consent record off-chain).
     * @param leaf The licence version concerned, or zero for every licence of a kind.
     * @param granteeRegion The region the data may go to.
     * @param validUntil Last second (block timestamp) the consent covers.
     */
    function recordConsent(
        bytes32 consentHash,
        bytes32 leaf,
        uint32 granteeRegion,
        uint64 validUntil
    ) external {
        uint32 grantor = _memberRegion();
        if (consentHash == bytes32(0)) revert ZeroHash();
        if (_consents[consentHash].recordedAt != 0) revert ConsentAlreadyRecorded(consentHash);
        if (granteeRegion == grantor) revert SameRegion(granteeRegion);
        _requireActive(granteeRegion);
        if (validUntil <= block.timestamp) revert InvalidValidity(validUntil);

        _consents[consentHash] = Consent({
            leaf: leaf,
            grantorRegion: grantor,
            granteeRegion: granteeRegion,
            validUntil: validUntil,
            recordedAt: uint64(block.timestamp),
            withdrawnAt: 0
        });
        emit ConsentRecorded(
            consentHash,
            leaf,
            grantor,
            granteeRegion,
            validUntil,
            msg.sender,
            uint64(block.timestamp)
        );
    }

    /**
     * @notice Records that the holder withdrew a consent; only the region that recorded it can.
     * @param consentHash The consent's hash.
     */
    function withdrawConsent(bytes32 consentHash) external {
        uint32 caller = _memberRegion();
        Consent storage c = _grantorsConsent(consentHash, caller);
        if (c.withdrawnAt != 0) revert ConsentAlreadyWithdrawn(consentHash, c.withdrawnAt);
        c.withdrawnAt = uint64(block.timestamp);
        emit ConsentWithdrawn(consentHash, caller, msg.sender, uint64(block.timestamp));
    }

    /**
     * @notice Records a release of data about `leaf` from the caller's region to `toRegion`,
     * refused unless consent `consentHash` covers it now.
     * @param receiptHash Hash identifying the release (of the receipt kept by both regions).
     * @param leaf The licence version whose data was released.
     * @param toRegion The receiving region.
     * @param purposeHash Hash of the stated purpose of use.
     * @param consentHash The consent the release relies on.
     */
    function recordRelease(
        bytes32 receiptHash,
        bytes32 leaf,
        uint32 toRegion,
        bytes32 purposeHash,
        bytes32 consentHash
    ) external {
        uint32 sender = _memberRegion();
        if (receiptHash == bytes32(0) || leaf == bytes32(0) || purposeHash == bytes32(0)) {
            revert ZeroHash();
        }
        if (_releases[receiptHash].recordedAt != 0) revert ReleaseAlreadyRecorded(receiptHash);
        _requireCovers(consentHash, sender, toRegion, leaf);
        _requireActive(toRegion);

        _releases[receiptHash] = Release({
            leaf: leaf,
            fromRegion: sender,
            toRegion: toRegion,
            purposeHash: purposeHash,
            consentHash: consentHash,
            recordedAt: uint64(block.timestamp)
        });
        emit DataReleased(
            receiptHash,
            leaf,
            sender,
            toRegion,
            purposeHash,
            consentHash,
            msg.sender,
            uint64(block.timestamp)
        );
    }

    // ----------------------------------------------------------------------------- views

    /// @notice The `RegionDirectory` that says who may write.
    function directory() external view returns (address) {
        return address(_directory);
    }

    /**
     * @notice A recorded consent; all zero for an unknown hash.
     * @param consentHash The consent's hash.
     */
    function consent(
        bytes32 consentHash
    )
        external
        view
        returns (
            bytes32 leaf,
            uint32 grantorRegion,
            uint32 granteeRegion,
            uint64 validUntil,
            uint64 recordedAt,
            uint64 withdrawnAt
        )
    {
        Consent storage c = _consents[consentHash];
        return (
            c.leaf,
            c.grantorRegion,
            c.granteeRegion,
            c.validUntil,
            c.recordedAt,
            c.withdrawnAt
        );
    }

    /**
     * @notice A recorded release; all zero for an unknown hash.
     * @param receiptHash The release's receipt hash.
     */
    function release(
        bytes32 receiptHash
    )
        external
        view
        returns (
            bytes32 leaf,
            uint32 fromRegion,
            uint32 toRegion,
            bytes32 purposeHash,
            bytes32 consentHash,
            uint64 recordedAt
        )
    {
        Release storage r = _releases[receiptHash];
        return (r.leaf, r.fromRegion, r.toRegion, r.purposeHash, r.consentHash, r.recordedAt);
    }

    /**
     * @notice Whether the consent covered `time`: recorded by then, not withdrawn by then, and
     * `time` not after `validUntil`.
     * @param consentHash The consent's hash.
     * @param time A block timestamp.
     */
    function isConsentValid(bytes32 consentHash, uint64 time) external view returns (bool) {
        Consent storage c = _consents[consentHash];
        if (c.recordedAt == 0 || time < c.recordedAt || time > c.validUntil) return false;
        return c.withdrawnAt == 0 || time < c.withdrawnAt;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev The directory lists only accounts of active regions (removal drops the accounts).
    function _memberRegion() private view returns (uint32 code) {
        code = _directory.accountRegion(msg.sender);
        if (code == 0) revert NotAMember(msg.sender);
    }

    function _requireActive(uint32 code) private view {
        (, bool active, , ) = _directory.region(code);
        if (!active) revert RegionNotActive(code);
    }

    function _grantorsConsent(
        bytes32 consentHash,
        uint32 caller
    ) private view returns (Consent storage c) {
        c = _consents[consentHash];
        if (c.recordedAt == 0) revert UnknownConsent(consentHash);
        if (c.grantorRegion != caller) revert NotGrantor(consentHash, caller, c.grantorRegion);
    }

    function _requireCovers(
        bytes32 consentHash,
        uint32 sender,
        uint32 toRegion,
        bytes32 leaf
    ) private view {
        Consent storage c = _grantorsConsent(consentHash, sender);
        if (c.withdrawnAt != 0) revert ConsentAlreadyWithdrawn(consentHash, c.withdrawnAt);
        if (block.timestamp > c.validUntil) revert ConsentExpired(consentHash, c.validUntil);
        if (c.granteeRegion != toRegion) {
            revert WrongGrantee(consentHash, c.granteeRegion, toRegion);
        }
        if (c.leaf != bytes32(0) && c.leaf != leaf) revert WrongLeaf(consentHash, c.leaf, leaf);
    }
}
