// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ISharingLedger
 * @notice Provenance of cross-region data flows (holders' consents and the releases made under
 * them, as hashes only): its records, events and errors. The errors it shares with the other
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
    /// @notice The consent is for `granteeRegion`, not for `toRegion`.
    error WrongGrantee(bytes32 consentHash, uint32 granteeRegion, uint32 toRegion);
    /// @notice The consent is for licence `consentLeaf`, not for `leaf`.
    error WrongLeaf(bytes32 consentHash, bytes32 consentLeaf, bytes32 leaf);
    /// @notice A release with this receipt hash was recorded before.
    error ReleaseAlreadyRecorded(bytes32 receiptHash);

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
    /// `purposeHash` under consent `consentHash`; `receiptHash` identifies the release.
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
}
