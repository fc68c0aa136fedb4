// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIssuerDirectory} from "./IIssuerDirectory.sol";

/**
 * @title IRegionDirectory
 * @notice The consortium's membership as the other contracts and the regions see it: regions,
 * their agencies' chain accounts and signing certificates, changed only by M-of-N proposals,
 * with its events and errors. The errors it shares with the other contracts (`ZeroAddress`,
 * `InvalidRegion`, `NotAMember`, `RegionNotActive`) are declared once, in `Errors.sol`.
 */
interface IRegionDirectory is IIssuerDirectory {
    /**
     * @notice The kinds of membership change a proposal can make, each with its payload (the
     * ABI encoding of these arguments, in this order):
     * - `AddRegion`: (string name, address account, string agencyCode, bytes32 fingerprint,
     *   bytes cert), the new region's name, first account and its agency, and optionally
     *   (a zero fingerprint: none) a first certificate of the same agency;
     * - `RemoveRegion`: empty;
     * - `AddAccount`: (address account, string agencyCode);
     * - `RemoveAccount`: (address account);
     * - `AddCertificate`: (bytes32 fingerprint, string agencyCode, bytes cert);
     * - `RevokeCertificate`: (bytes32 fingerprint).
     * An executed proposal keeps its payload with the certificate's DER emptied: the DER lives
     * in the `CertificateAdded` event, not in state.
     */
    enum Action {
        AddRegion,
        RemoveRegion,
        AddAccount,
        RemoveAccount,
        AddCertificate,
        RevokeCertificate
    }

    /// @notice A proposal as `proposal()` returns it; `approvals` counts active regions only.
    struct ProposalInfo {
        Action action;
        uint32 region;
        bytes payload;
        uint32 proposerRegion;
        uint64 createdAt;
        uint64 executedAt;
        uint32 approvals;
    }

    /// @notice An account given to `bootstrap`, with the agency it acts for.
    struct AccountInput {
        address account;
        string agencyCode;
    }

    /// @notice A certificate given to `bootstrap`.
    struct CertificateInput {
        bytes32 fingerprint;
        string agencyCode;
        bytes cert;
    }

    /// @notice The threshold must be at least 1.
    error InvalidThreshold(uint256 threshold);
    /// @notice A region needs a name.
    error EmptyName();
    /// @notice A region needs at least one account.
    error NoAccounts();
    /// @notice `bootstrap` runs once, before any region exists.
    error AlreadyBootstrapped();
    /// @notice Only the deployer may `bootstrap`, once.
    error NotBootstrapper(address caller);
    /// @notice The agency already belongs to region `region`; an agency never changes region.
    error AgencyInOtherRegion(string agencyCode, uint32 region);
    /// @notice `region` is already an active member.
    error RegionAlreadyActive(uint32 region);
    /// @notice The last active region cannot be removed.
    error LastRegion(uint32 region);
    /// @notice `account` already belongs to a region.
    error AccountAlreadyRegistered(address account, uint32 region);
    /// @notice `account` is not an account of `region`.
    error AccountNotInRegion(address account, uint32 region);
    /// @notice The last account of an active region cannot be removed.
    error LastAccount(uint32 region);
    /// @notice The fingerprint must be the SHA-256 of the certificate DER.
    error FingerprintMismatch(bytes32 fingerprint, bytes32 computed);
    /// @notice An agency code is an 18-character unified social credit code (0-9, A-Z).
    error InvalidAgencyCode(string agencyCode);
    /// @notice A certificate with this fingerprint was registered before.
    error CertificateAlreadyRegistered(bytes32 fingerprint);
    /// @notice No certificate with this fingerprint is registered.
    error UnknownCertificate(bytes32 fingerprint);
    /// @notice The certificate belongs to `certificateRegion`, not to `region`.
    error CertificateNotInRegion(bytes32 fingerprint, uint32 region, uint32 certificateRegion);
    /// @notice The certificate is already revoked.
    error CertificateAlreadyRevoked(bytes32 fingerprint);
    /// @notice A compromise time must be nonzero and not in the future.
    error InvalidCompromiseTime(uint64 since);
    /// @notice A compromise can only be moved earlier; it is already recorded from `current`.
    error CompromiseNotEarlier(bytes32 fingerprint, uint64 current, uint64 since);
    /// @notice No proposal has this id.
    error UnknownProposal(uint256 id);
    /// @notice The proposal was executed before.
    error ProposalAlreadyExecuted(uint256 id);
    /// @notice `region` already approved proposal `id`.
    error AlreadyApproved(uint256 id, uint32 region);
    /// @notice Proposal `id` has `approvals` active approvals; `threshold` are needed.
    error ThresholdNotReached(uint256 id, uint256 approvals, uint256 threshold);

    /// @notice A proposal was made; the proposer's region is its first approval. `payload` is
    /// the change's arguments, ABI-encoded as its kind's executor decodes them (see `Action`).
    event ProposalCreated(
        uint256 indexed id,
        Action action,
        uint32 indexed region,
        uint32 indexed proposerRegion,
        bytes payload,
        uint64 timestamp
    );
    /// @notice `region` approved proposal `id`; `approvals` active regions approve it now.
    event ProposalApproved(
        uint256 indexed id,
        uint32 indexed region,
        address approver,
        uint32 approvals,
        uint64 timestamp
    );
    /// @notice Proposal `id` reached the threshold and took effect.
    event ProposalExecuted(
        uint256 indexed id,
        Action action,
        uint32 indexed region,
        uint64 timestamp
    );
    /// @notice `region` became an active member.
    event RegionAdded(uint32 indexed region, string name, uint64 timestamp);
    /// @notice `region` stopped being a member; its accounts and certificates went with it.
    event RegionRemoved(uint32 indexed region, uint64 timestamp);
    /// @notice `account` became an account of agency `agencyCode` of `region`: an issuer.
    event AccountAdded(
        uint32 indexed region,
        address indexed account,
        string agencyCode,
        uint64 timestamp
    );
    /// @notice `account` stopped being an account of `region`: it can no longer anchor.
    event AccountRemoved(uint32 indexed region, address indexed account, uint64 timestamp);
    /// @notice A signing certificate of `region`; `cert` is its DER, SHA-256 = `fingerprint`.
    event CertificateAdded(
        uint32 indexed region,
        bytes32 indexed fingerprint,
        string agencyCode,
        bytes cert,
        uint64 timestamp
    );
    /// @notice The certificate was retired; it signs nothing valid from `timestamp` on.
    event CertificateRevoked(uint32 indexed region, bytes32 indexed fingerprint, uint64 timestamp);
    /// @notice The certificate's key was reported lost; it signs nothing valid from `since` on.
    event CertificateCompromised(
        bytes32 indexed fingerprint,
        uint32 indexed region,
        uint64 since,
        uint64 timestamp
    );

    /**
     * @notice Proposes a membership change; the caller's region approves it at once, and it
     * executes at once when that already reaches `effectiveThreshold()`.
     * @param action What to change.
     * @param code The region concerned (the new region for `AddRegion`).
     * @param payload The change's arguments, ABI-encoded as `Action` describes for its kind.
     * @return id The proposal's id (ids start at 1).
     */
    function propose(
        Action action,
        uint32 code,
        bytes calldata payload
    ) external returns (uint256 id);

    /**
     * @notice Approves proposal `id` for the caller's region; executes it when the approvals of
     * active regions reach `effectiveThreshold()`.
     * @param id The proposal's id.
     * @return executed Whether this approval executed the proposal.
     */
    function approve(uint256 id) external returns (bool executed);

    /**
     * @notice Executes proposal `id` whose approvals already reach `effectiveThreshold()`.
     * @param id The proposal's id.
     */
    function execute(uint256 id) external;

    /**
     * @notice The region of `account`, or 0 when it is not an account of an active region.
     * @param account A chain account.
     */
    function accountRegion(address account) external view returns (uint32);

    /**
     * @notice A region's name, whether it is an active member, and when it was (last) added
     * and removed (0 while active); all empty for an unknown code.
     * @param code The 6-digit administrative division code.
     */
    function region(
        uint32 code
    ) external view returns (string memory name, bool active, uint64 addedAt, uint64 removedAt);

    /**
     * @notice Proposal `id` with its approvals by currently active regions.
     * @param id A proposal id, from 1 to `proposalCount()`.
     */
    function proposal(uint256 id) external view returns (ProposalInfo memory);
}
