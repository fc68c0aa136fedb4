// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRegionDirectory} from "./interfaces/IRegionDirectory.sol";
import {ISharingLedger} from "./interfaces/ISharingLedger.sol";
import {ZeroAddress, NotAMember, RegionNotActive} from "./interfaces/Errors.sol";

/**
 * @title SharingLedger
 * @notice Provenance of every cross-region data flow: holders' consents, other regions'
 * sharing requests with their review, and the data releases made under either, as hashes only.
 *
 * A consent (the holder's permission to share one licence, or with a zero leaf every licence
 * of a kind, with one grantee region until a time) is recorded by the region holding the data.
 * Every release of data to another region names the consent it relies on; the chain refuses a
 * release the consent does not cover, so the record of releases is also a proof that each
 * was allowed when it happened. The hashes are computed off-chain (salted where they stand for
 * personal data), so nothing here identifies a person. Only accounts of active regions in the
 * `RegionDirectory` write.
 *
 * A sharing request (申请 → 审核 → 批准) is the other path: region B asks the region holding
 * the data for one licence version for a stated purpose; the holding region records the
 * request, then a named reviewer's approval (until a time, with an optional cap on the number
 * of releases) or refusal. A release under an approval is refused unless it goes to the
 * requesting region, for that leaf and purpose, before the end, and within the cap; each one
 * is counted here, so the metering of use is on the chain too.
 *
 * Access is by the directory's membership, not by `AccessControl` roles: after bootstrap no
 * account may hold admin power over the consortium's contracts, and the directory (changed
 * only by M-of-N decisions) is the one source of truth for which account is which region's.
 */
contract SharingLedger is ISharingLedger {
    IRegionDirectory private immutable _directory;
    mapping(bytes32 consentHash => Consent) private _consents;
    mapping(bytes32 receiptHash => Release) private _releases;
    mapping(bytes32 requestHash => SharingRequest) private _requests;

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
        _storeRelease(receiptHash, leaf, sender, toRegion, purposeHash, consentHash);
    }

    /**
     * @notice Records another region's request for the data of `leaf` for a purpose; the
     * caller's region is the one holding the data, which received the (signed) request.
     * @param requestHash Hash identifying the request (of the request record kept off-chain).
     * @param leaf The licence version asked for.
     * @param requesterRegion The region asking.
     * @param purposeHash Hash of the stated purpose of use.
     */
    function recordRequest(
        bytes32 requestHash,
        bytes32 leaf,
        uint32 requesterRegion,
        bytes32 purposeHash
    ) external {
        uint32 holder = _memberRegion();
        if (requestHash == bytes32(0) || leaf == bytes32(0) || purposeHash == bytes32(0)) {
            revert ZeroHash();
        }
        if (_requests[requestHash].state != RequestState.None) {
            revert RequestAlreadyRecorded(requestHash);
        }
        if (requesterRegion == holder) revert SameRegion(requesterRegion);
        _requireActive(requesterRegion);
        _requests[requestHash] = SharingRequest({
            leaf: leaf,
            purposeHash: purposeHash,
            holderRegion: holder,
            requesterRegion: requesterRegion,
            requestedAt: uint64(block.timestamp),
            decidedAt: 0,
            validUntil: 0,
            cap: 0,
            uses: 0,
            state: RequestState.Pending
        });
        emit SharingRequested(
            requestHash,
            leaf,
            holder,
            requesterRegion,
            purposeHash,
            msg.sender,
            uint64(block.timestamp)
        );
    }

    /**
     * @notice Records the approval of a pending request by the reviewer `reviewerHash`.
     * @param requestHash The request's hash.
     * @param reviewerHash Hash naming the reviewing person (kept with the label off-chain).
     * @param validUntil Last second (block timestamp) releases may be made under it.
     * @param cap The most releases allowed under it; zero for no cap.
     */
    function approveRequest(
        bytes32 requestHash,
        bytes32 reviewerHash,
        uint64 validUntil,
        uint32 cap
    ) external {
        SharingRequest storage r = _pending(requestHash, reviewerHash);
        if (validUntil <= block.timestamp) revert InvalidValidity(validUntil);
        r.state = RequestState.Approved;
        r.decidedAt = uint64(block.timestamp);
        r.validUntil = validUntil;
        r.cap = cap;
        emit SharingApproved(
            requestHash,
            r.holderRegion,
            reviewerHash,
            validUntil,
            cap,
            msg.sender,
            uint64(block.timestamp)
        );
    }

    /**
     * @notice Records the refusal of a pending request by the reviewer `reviewerHash`.
     * @param requestHash The request's hash.
     * @param reviewerHash Hash naming the reviewing person.
     * @param reasonHash Hash of the reason given to the requesting region.
     */
    function refuseRequest(bytes32 requestHash, bytes32 reviewerHash, bytes32 reasonHash) external {
        SharingRequest storage r = _pending(requestHash, reviewerHash);
        if (reasonHash == bytes32(0)) revert ZeroHash();
        r.state = RequestState.Refused;
        r.decidedAt = uint64(block.timestamp);
        emit SharingRefused(
            requestHash,
            r.holderRegion,
            reviewerHash,
            reasonHash,
            msg.sender,
            uint64(block.timestamp)
        );
    }

    /**
     * @notice Records a release of data about `leaf` to `toRegion` under the approved request
     * `requestHash`, counted against its cap; refused unless the approval covers it now.
     * @param receiptHash Hash identifying the release (of the receipt kept by both regions).
     * @param leaf The licence version whose data was released (the one asked for).
     * @param toRegion The receiving region (the one that asked).
     * @param purposeHash Hash of the purpose (the one the request stated).
     * @param requestHash The approved request the release relies on.
     */
    function recordApprovedRelease(
        bytes32 receiptHash,
        bytes32 leaf,
        uint32 toRegion,
        bytes32 purposeHash,
        bytes32 requestHash
    ) external {
        uint32 sender = _memberRegion();
        if (receiptHash == bytes32(0)) revert ZeroHash();
        if (_releases[receiptHash].recordedAt != 0) revert ReleaseAlreadyRecorded(receiptHash);
        SharingRequest storage r = _holdersRequest(requestHash, sender);
        if (r.state != RequestState.Approved) revert RequestNotApproved(requestHash, r.state);
        if (block.timestamp > r.validUntil) revert ApprovalExpired(requestHash, r.validUntil);
        _requireBasisMatches(requestHash, r.requesterRegion, toRegion, r.leaf, leaf);
        if (r.purposeHash != purposeHash) {
            revert WrongPurpose(requestHash, r.purposeHash, purposeHash);
        }
        if (r.cap != 0 && r.uses >= r.cap) revert CapReached(requestHash, r.cap);
        _requireActive(toRegion);
        r.uses += 1;
        _storeRelease(receiptHash, leaf, sender, toRegion, purposeHash, requestHash);
        emit ApprovalUsed(requestHash, r.uses, r.cap, uint64(block.timestamp));
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
     * @notice A recorded sharing request with its review and use; all zero for an unknown hash.
     * @param requestHash The request's hash.
     */
    function sharingRequest(bytes32 requestHash) external view returns (SharingRequest memory) {
        return _requests[requestHash];
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

    function _holdersRequest(
        bytes32 requestHash,
        uint32 caller
    ) private view returns (SharingRequest storage r) {
        r = _requests[requestHash];
        if (r.state == RequestState.None) revert UnknownRequest(requestHash);
        if (r.holderRegion != caller) revert NotHolderRegion(requestHash, caller, r.holderRegion);
    }

    /// @dev A request the caller's region holds, still waiting for its decision.
    function _pending(
        bytes32 requestHash,
        bytes32 reviewerHash
    ) private view returns (SharingRequest storage r) {
        uint32 caller = _memberRegion();
        if (reviewerHash == bytes32(0)) revert ZeroHash();
        r = _holdersRequest(requestHash, caller);
        if (r.state != RequestState.Pending) revert RequestNotPending(requestHash, r.state);
    }

    function _storeRelease(
        bytes32 receiptHash,
        bytes32 leaf,
        uint32 sender,
        uint32 toRegion,
        bytes32 purposeHash,
        bytes32 basisHash
    ) private {
        _releases[receiptHash] = Release({
            leaf: leaf,
            fromRegion: sender,
            toRegion: toRegion,
            purposeHash: purposeHash,
            consentHash: basisHash,
            recordedAt: uint64(block.timestamp)
        });
        emit DataReleased(
            receiptHash,
            leaf,
            sender,
            toRegion,
            purposeHash,
            basisHash,
            msg.sender,
            uint64(block.timestamp)
        );
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
        _requireBasisMatches(consentHash, c.granteeRegion, toRegion, c.leaf, leaf);
    }

    /**
     * @dev The one check both kinds of release share: it goes to the region its basis (a
     * consent or an approved request, `basisHash`) names, for the leaf it names. A zero
     * `basisLeaf` is a consent for every licence of a kind; a request's leaf is never zero
     * (`recordRequest` refuses it), so for a request this is the exact leaf.
     */
    function _requireBasisMatches(
        bytes32 basisHash,
        uint32 basisRegion,
        uint32 toRegion,
        bytes32 basisLeaf,
        bytes32 leaf
    ) private pure {
        if (basisRegion != toRegion) revert WrongGrantee(basisHash, basisRegion, toRegion);
        if (basisLeaf != bytes32(0) && basisLeaf != leaf) {
            revert WrongLeaf(basisHash, basisLeaf, leaf);
        }
    }
}
