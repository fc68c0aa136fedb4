// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ISharingLedger
 * @notice Provenance of cross-region data flows (holders' consents, other regions' sharing
 * requests with their review, and the releases made under either, as hashes only): its
 * records, events and errors. The errors it shares with the other
 * contracts (`ZeroAddress`, `NotAMember`, `RegionNotActive`) are declared once, in `Errors.sol`.
 */
interface ISharingLedger {
    /// @notice A holder's consent as recorded.
    struct Consent {
        bytes32 leaf;
        uint32 grantorRegion;
        uint32 granteeRegion;
        uint64 validUntil;
        uint64 recordedAt;
        uint64 withdrawnAt;
    }

    /// @notice A release of data as recorded.
    struct Release {
        bytes32 leaf;
        uint32 fromRegion;
        uint32 toRegion;
        bytes32 purposeHash;
        bytes32 consentHash;
        uint64 recordedAt;
    }

    /// @notice Where a sharing request stands. `None`: never recorded.
    enum RequestState {
        None,
        Pending,
        Approved,
        Refused
    }

    /// @notice Another region's request for one licence's data, recorded by the region holding
    /// the data, with the review's outcome and the metering of its use.
    struct SharingRequest {
        bytes32 leaf;
        bytes32 purposeHash;
        uint32 holderRegion;
        uint32 requesterRegion;
        uint64 requestedAt;
        uint64 decidedAt;
        uint64 validUntil;
        uint32 cap;
        uint32 uses;
        RequestState state;
    }

    /// @notice Consent, receipt, leaf of a release and purpose hashes cannot be zero.
    error ZeroHash();
    /// @notice A region does not need a consent to use its own data.
    error SameRegion(uint32 region);
    /// @notice A consent must still be valid when it is recorded.
    error InvalidValidity(uint64 validUntil);
    /// @notice A consent with this hash was recorded before.
    error ConsentAlreadyRecorded(bytes32 consentHash);
    /// @notice No consent with this hash is recorded.
    error UnknownConsent(bytes32 consentHash);
    /// @notice Only the region that recorded the consent (`grantorRegion`) may use or withdraw it.
    error NotGrantor(bytes32 consentHash, uint32 callerRegion, uint32 grantorRegion);
    /// @notice The consent was withdrawn at `withdrawnAt`.
    error ConsentAlreadyWithdrawn(bytes32 consentHash, uint64 withdrawnAt);
    /// @notice The consent expired at `validUntil`.
    error ConsentExpired(bytes32 consentHash, uint64 validUntil);
    /// @notice The consent (or approved request) is for `granteeRegion`, not for `toRegion`.
    error WrongGrantee(bytes32 consentHash, uint32 granteeRegion, uint32 toRegion);
    /// @notice The consent (or approved request) is for licence `consentLeaf`, not for `leaf`.
    error WrongLeaf(bytes32 consentHash, bytes32 consentLeaf, bytes32 leaf);
    /// @notice A release with this receipt hash was recorded before.
    error ReleaseAlreadyRecorded(bytes32 receiptHash);
    /// @notice A sharing request with this hash was recorded before.
    error RequestAlreadyRecorded(bytes32 requestHash);
    /// @notice No sharing request with this hash is recorded.
    error UnknownRequest(bytes32 requestHash);
    /// @notice Only the region holding the data (`holderRegion`) reviews or releases under it.
    error NotHolderRegion(bytes32 requestHash, uint32 callerRegion, uint32 holderRegion);
    /// @notice The request was decided before (`state`); a decision is final.
    error RequestNotPending(bytes32 requestHash, RequestState state);
    /// @notice Nothing is released under a request that is not approved (`state`).
    error RequestNotApproved(bytes32 requestHash, RequestState state);
    /// @notice The approval ran out at `validUntil`.
    error ApprovalExpired(bytes32 requestHash, uint64 validUntil);
    /// @notice The approval's `cap` of releases is used up.
    error CapReached(bytes32 requestHash, uint32 cap);
    /// @notice A release under a request is for the purpose the request stated, no other.
    error WrongPurpose(bytes32 requestHash, bytes32 requestPurpose, bytes32 purposeHash);

    /// @notice The holder consented to share `leaf` (zero: every licence of the kind the consent
    /// names off-chain) from `grantorRegion` with `granteeRegion` until `validUntil`.
    event ConsentRecorded(
        bytes32 indexed consentHash,
        bytes32 indexed leaf,
        uint32 indexed grantorRegion,
        uint32 granteeRegion,
        uint64 validUntil,
        address recorder,
        uint64 timestamp
    );
    /// @notice The holder withdrew the consent; nothing can be released under it any more.
    event ConsentWithdrawn(
        bytes32 indexed consentHash,
        uint32 indexed grantorRegion,
        address recorder,
        uint64 timestamp
    );
    /// @notice Data about `leaf` went from `fromRegion` to `toRegion` for the purpose
    /// `purposeHash` under consent `consentHash` (or the approved sharing request of that hash);
    /// `receiptHash` identifies the release.
    event DataReleased(
        bytes32 indexed receiptHash,
        bytes32 indexed leaf,
        uint32 indexed fromRegion,
        uint32 toRegion,
        bytes32 purposeHash,
        bytes32 consentHash,
        address recorder,
        uint64 timestamp
    );
    /// @notice `requesterRegion` asked `holderRegion` for the data of `leaf` for the purpose
    /// `purposeHash`; the request waits for review by a named person of `holderRegion`.
    event SharingRequested(
        bytes32 indexed requestHash,
        bytes32 indexed leaf,
        uint32 indexed holderRegion,
        uint32 requesterRegion,
        bytes32 purposeHash,
        address recorder,
        uint64 timestamp
    );
    /// @notice The reviewer `reviewerHash` approved the request until `validUntil`, for at most
    /// `cap` releases (zero: no cap).
    event SharingApproved(
        bytes32 indexed requestHash,
        uint32 indexed holderRegion,
        bytes32 reviewerHash,
        uint64 validUntil,
        uint32 cap,
        address recorder,
        uint64 timestamp
    );
    /// @notice The reviewer `reviewerHash` refused the request for the reason `reasonHash`.
    event SharingRefused(
        bytes32 indexed requestHash,
        uint32 indexed holderRegion,
        bytes32 reviewerHash,
        bytes32 reasonHash,
        address recorder,
        uint64 timestamp
    );
    /// @notice A release was made under the approved request: its `uses`-th of `cap` (zero: no
    /// cap). Emitted beside the release's `DataReleased`.
    event ApprovalUsed(bytes32 indexed requestHash, uint32 uses, uint32 cap, uint64 timestamp);
}
