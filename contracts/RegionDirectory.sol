// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIssuerDirectory} from "./interfaces/IIssuerDirectory.sol";
import {IRegionDirectory} from "./interfaces/IRegionDirectory.sol";
import {ZeroAddress, InvalidRegion, NotAMember, RegionNotActive} from "./interfaces/Errors.sol";

/**
 * @title RegionDirectory
 * @notice The consortium's membership: regions, their agencies' chain accounts and their
 * signing certificates. It is the trust root for "is this issuer real" and for cross-region
 * calls.
 *
 * The deployer creates the first region once (`bootstrap`) and keeps no power afterwards:
 * every change (adding or removing a region, an account or a certificate) needs the approval
 * of `effectiveThreshold()` active regions. There is no admin role. The `LicenceRegistry` asks
 * this directory (`issuerOf`) which region and agency an account acts for, so the directory is
 * the one source of truth: an account removed here can no longer anchor, at once.
 *
 * Every account and certificate belongs to one agency (its unified social credit code), and
 * every agency to one region, for ever: an agency code bound to a region can never be claimed
 * by another, so leaves namespaced by agency cannot be forged across regions.
 *
 * Certificates are kept by SHA-256 fingerprint; the DER itself is only emitted in
 * `CertificateAdded`, so any region can rebuild every other region's certificates from the chain
 * alone. Certificates are never deleted: a retired (revoked) one stays valid for what it signed
 * before its revocation, and a compromised one for what it signed before the reported loss,
 * so point-in-time verification keeps working.
 */
contract RegionDirectory is IRegionDirectory {
    /// @notice Length of an agency's unified social credit code (a public organisation code).
    uint256 public constant AGENCY_CODE_LENGTH = 18;

    /// @notice A proposal: its kind, region and payload (see `Action`); `approvers` are the
    /// regions that ever approved it, proposer first.
    struct Proposal {
        Action action;
        uint32 region;
        uint32 proposerRegion;
        uint64 createdAt;
        uint64 executedAt;
        bytes payload;
        uint32[] approvers;
    }

    /// @dev `membership` counts the region's admissions: approvals it gave during an earlier
    /// membership do not come back when a removed region is added again.
    struct Region {
        string name;
        bool active;
        uint32 membership;
        uint64 addedAt;
        uint64 removedAt;
    }

    struct Certificate {
        uint32 region;
        uint64 registeredAt;
        uint64 compromisedAt;
        uint64 revokedAt;
        string agencyCode;
    }

    address private immutable _bootstrapper;
    uint32 private immutable _threshold;

    uint32[] private _regionCodes;
    uint32 private _activeCount;
    mapping(uint32 code => Region) private _regions;
    mapping(uint32 code => address[]) private _accounts;
    mapping(address account => uint32 region) private _accountRegion;
    mapping(address account => uint256 position) private _accountPosition; // index + 1
    mapping(address account => bytes32 agency) private _accountAgency;
    mapping(bytes32 agency => uint32 region) private _agencyRegion;
    mapping(uint32 code => bytes32[]) private _certificatesOf;
    mapping(bytes32 fingerprint => Certificate) private _certificates;
    Proposal[] private _proposals;
    mapping(uint256 id => mapping(uint32 region => uint32 membership)) private _approvedIn;

    /**
     * @notice The deployer may `bootstrap` the first region, once; it has no other power.
     * @param approvals M: approvals of active regions a proposal needs (capped by their number).
     */
    constructor(uint32 approvals) {
        if (approvals == 0) revert InvalidThreshold(approvals);
        _bootstrapper = msg.sender;
        _threshold = approvals;
    }

    modifier onlyMember() {
        if (_accountRegion[msg.sender] == 0) revert NotAMember(msg.sender);
        _;
    }

    // ----------------------------------------------------------------------------- bootstrap

    /**
     * @notice Creates the consortium's first region, once, before any region exists; only the
     * deployer may call it, and afterwards nobody can.
     * @param code The region's 6-digit administrative division code.
     * @param name The region's name.
     * @param accounts The region's agencies' chain accounts (at least one), each with the
     * 18-character code of the agency it acts for.
     * @param certs The agencies' signing certificates (DER emitted in `CertificateAdded` only).
     */
    function bootstrap(
        uint32 code,
        string calldata name,
        AccountInput[] calldata accounts,
        CertificateInput[] calldata certs
    ) external {
        if (msg.sender != _bootstrapper) revert NotBootstrapper(msg.sender);
        if (_regionCodes.length != 0) revert AlreadyBootstrapped();
        if (accounts.length == 0) revert NoAccounts();
        _checkNewRegion(code, name);
        _addRegion(code, name);
        for (uint256 i = 0; i < certs.length; ++i) {
            CertificateInput calldata c = certs[i];
            _checkCertificateData(c.fingerprint, c.cert);
            _checkAgency(code, c.agencyCode);
            _checkNewCertificate(c.fingerprint);
            _addCertificate(code, c.fingerprint, c.agencyCode, c.cert);
        }
        for (uint256 i = 0; i < accounts.length; ++i) {
            _checkNewAccount(accounts[i].account);
            _checkAgency(code, accounts[i].agencyCode);
            _addAccount(code, accounts[i].account, accounts[i].agencyCode);
        }
    }

    // ----------------------------------------------------------------------------- proposals

    /**
     * @inheritdoc IRegionDirectory
     * @dev The change is checked now and again when it executes (the state may have moved):
     * both run the same function of its kind, `_change`.
     */
    function propose(
        Action action,
        uint32 code,
        bytes calldata payload
    ) external onlyMember returns (uint256 id) {
        _change(action, code, payload, false);
        uint32 proposer = _accountRegion[msg.sender];
        Proposal storage p = _proposals.push();
        id = _proposals.length;
        p.action = action;
        p.region = code;
        p.payload = payload;
        p.proposerRegion = proposer;
        p.createdAt = uint64(block.timestamp);
        emit ProposalCreated(id, action, code, proposer, payload, uint64(block.timestamp));
        _approve(id, p, proposer);
    }

    /// @inheritdoc IRegionDirectory
    function approve(uint256 id) external onlyMember returns (bool executed) {
        Proposal storage p = _pending(id);
        uint32 code = _accountRegion[msg.sender];
        if (_approvedIn[id][code] == _regions[code].membership) revert AlreadyApproved(id, code);
        executed = _approve(id, p, code);
    }

    /**
     * @inheritdoc IRegionDirectory
     * @dev E.g. after the removal of a region lowered the threshold.
     */
    function execute(uint256 id) external onlyMember {
        Proposal storage p = _pending(id);
        uint256 approvals = _activeApprovals(id, p);
        uint256 needed = effectiveThreshold();
        if (approvals < needed) revert ThresholdNotReached(id, approvals, needed);
        _execute(id, p);
    }

    // ----------------------------------------------------------------------------- key loss

    /**
     * @notice Reports the key of a certificate of the caller's own region lost from `since`:
     * the certificate signs nothing valid from then on. Urgent, so no approvals are needed.
     * @dev A report can only move the compromise time earlier, never later or back to none.
     * @param fingerprint The certificate's SHA-256 fingerprint.
     * @param since When the key was lost (a block timestamp, not in the future, nonzero).
     */
    function reportCompromised(bytes32 fingerprint, uint64 since) external onlyMember {
        Certificate storage c = _certificates[fingerprint];
        if (c.registeredAt == 0) revert UnknownCertificate(fingerprint);
        uint32 callerRegion = _accountRegion[msg.sender];
        if (c.region != callerRegion) {
            revert CertificateNotInRegion(fingerprint, callerRegion, c.region);
        }
        if (since == 0 || since > block.timestamp) revert InvalidCompromiseTime(since);
        uint64 current = c.compromisedAt;
        if (current != 0 && since >= current) {
            revert CompromiseNotEarlier(fingerprint, current, since);
        }
        c.compromisedAt = since;
        emit CertificateCompromised(fingerprint, c.region, since, uint64(block.timestamp));
    }

    // ----------------------------------------------------------------------------- views

    /// @inheritdoc IIssuerDirectory
    function issuerOf(address account) external view returns (uint32 regionCode, bytes32 agency) {
        regionCode = _accountRegion[account];
        if (regionCode != 0) agency = _accountAgency[account];
    }

    /**
     * @notice The id of an agency: keccak256 of its 18-character code. Leaves are namespaced
     * by it, so no other agency can anchor the same leaf.
     * @param agencyCode The agency's unified social credit code.
     */
    function agencyId(string memory agencyCode) public pure returns (bytes32) {
        return keccak256(bytes(agencyCode));
    }

    /**
     * @notice The region an agency belongs to (for ever, once bound), or 0 if unknown.
     * @param agency The agency's id (`agencyId`).
     */
    function agencyRegion(bytes32 agency) external view returns (uint32) {
        return _agencyRegion[agency];
    }

    /**
     * @notice The agency id `account` acts for, or zero when it is not a current account.
     * @param account A chain account.
     */
    function accountAgency(address account) external view returns (bytes32) {
        return _accountRegion[account] == 0 ? bytes32(0) : _accountAgency[account];
    }

    /// @notice M: the approvals a proposal needs while at least M regions are active.
    function threshold() external view returns (uint32) {
        return _threshold;
    }

    /// @notice The approvals a proposal needs now: min(M, number of active regions).
    function effectiveThreshold() public view returns (uint256) {
        return _threshold < _activeCount ? _threshold : _activeCount;
    }

    /**
     * @notice A region's name, whether it is an active member, and when it was (last) added
     * and removed (0 while active); all empty for an unknown code.
     * @param code The 6-digit administrative division code.
     */
    function region(
        uint32 code
    ) external view returns (string memory name, bool active, uint64 addedAt, uint64 removedAt) {
        Region storage r = _regions[code];
        return (r.name, r.active, r.addedAt, r.removedAt);
    }

    /// @notice Every region code ever added, active or not, in order of first addition.
    function regionCodes() external view returns (uint32[] memory) {
        return _regionCodes;
    }

    /// @notice Number of active regions (N).
    function activeRegionCount() external view returns (uint256) {
        return _activeCount;
    }

    /**
     * @notice The region of `account`, or 0 when it is not an account of an active region.
     * @param account A chain account.
     */
    function accountRegion(address account) external view returns (uint32) {
        return _accountRegion[account];
    }

    /**
     * @notice The current accounts of region `code`.
     * @param code A region code.
     */
    function regionAccounts(uint32 code) external view returns (address[] memory) {
        return _accounts[code];
    }

    /**
     * @notice Every certificate ever registered for region `code`, revoked ones included.
     * @param code A region code.
     */
    function regionCertificates(uint32 code) external view returns (bytes32[] memory) {
        return _certificatesOf[code];
    }

    /**
     * @notice A registered certificate; all zero for an unknown fingerprint.
     * @param fingerprint The certificate's SHA-256 fingerprint.
     * @return regionCode The region it signs for.
     * @return agencyCode The agency it belongs to.
     * @return registeredAt When it was registered.
     * @return compromisedAt From when its key is reported lost (0: never).
     * @return revokedAt When it was retired (0: not revoked).
     */
    function certificate(
        bytes32 fingerprint
    )
        external
        view
        returns (
            uint32 regionCode,
            string memory agencyCode,
            uint64 registeredAt,
            uint64 compromisedAt,
            uint64 revokedAt
        )
    {
        Certificate storage c = _certificates[fingerprint];
        return (c.region, c.agencyCode, c.registeredAt, c.compromisedAt, c.revokedAt);
    }

    /**
     * @notice Whether a signature made at `time` by the certificate counts: it is registered,
     * was not revoked by then, and its key was not reported lost by then.
     * @param fingerprint The certificate's SHA-256 fingerprint.
     * @param time A block timestamp (e.g. when the signed document was anchored).
     */
    function isCertificateValidAt(bytes32 fingerprint, uint64 time) external view returns (bool) {
        Certificate storage c = _certificates[fingerprint];
        if (c.registeredAt == 0) return false;
        if (c.revokedAt != 0 && time >= c.revokedAt) return false;
        return c.compromisedAt == 0 || time < c.compromisedAt;
    }

    /// @notice Number of proposals made so far (the newest one's id).
    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    /// @inheritdoc IRegionDirectory
    function proposal(uint256 id) external view returns (ProposalInfo memory) {
        Proposal storage p = _proposal(id);
        return
            ProposalInfo({
                action: p.action,
                region: p.region,
                payload: p.payload,
                proposerRegion: p.proposerRegion,
                createdAt: p.createdAt,
                executedAt: p.executedAt,
                approvals: uint32(_activeApprovals(id, p))
            });
    }

    /**
     * @notice Whether `code` approved proposal `id` during its current (or last) membership.
     * @param id A proposal id.
     * @param code A region code.
     */
    function hasApproved(uint256 id, uint32 code) external view returns (bool) {
        uint32 membership = _approvedIn[id][code];
        return membership != 0 && membership == _regions[code].membership;
    }

    // ----------------------------------------------------------------------------- internals

    function _proposal(uint256 id) private view returns (Proposal storage) {
        if (id == 0 || id > _proposals.length) revert UnknownProposal(id);
        return _proposals[id - 1];
    }

    function _pending(uint256 id) private view returns (Proposal storage p) {
        p = _proposal(id);
        if (p.executedAt != 0) revert ProposalAlreadyExecuted(id);
    }

    /// @dev Approvals of regions removed since they approved no longer count, not even when
    /// such a region is added again.
    function _activeApprovals(
        uint256 id,
        Proposal storage p
    ) private view returns (uint256 count) {
        uint256 n = p.approvers.length;
        for (uint256 i = 0; i < n; ++i) {
            uint32 code = p.approvers[i];
            Region storage r = _regions[code];
            if (r.active && _approvedIn[id][code] == r.membership) ++count;
        }
    }

    function _approve(
        uint256 id,
        Proposal storage p,
        uint32 approver
    ) private returns (bool executed) {
        if (_approvedIn[id][approver] == 0) p.approvers.push(approver);
        _approvedIn[id][approver] = _regions[approver].membership;
        uint256 approvals = _activeApprovals(id, p);
        emit ProposalApproved(
            id,
            approver,
            msg.sender,
            uint32(approvals),
            uint64(block.timestamp)
        );
        if (approvals >= effectiveThreshold()) {
            _execute(id, p);
            executed = true;
        }
    }

    function _execute(uint256 id, Proposal storage p) private {
        p.executedAt = uint64(block.timestamp);
        emit ProposalExecuted(id, p.action, p.region, uint64(block.timestamp));
        p.payload = _change(p.action, p.region, p.payload, true);
    }

    // ----------------------------------------------------------------------------- changes

    /**
     * @dev Runs a change of kind `action` on region `code`: always its checks (at proposal and
     * again at execution), and its effects when `effect`. Each kind has one function below,
     * which decodes `payload` as `Action` describes and returns the payload to keep.
     */
    function _change(
        Action action,
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        if (action == Action.AddRegion) return _changeAddRegion(code, payload, effect);
        if (action == Action.RemoveRegion) return _changeRemoveRegion(code, payload, effect);
        if (action == Action.AddAccount) return _changeAddAccount(code, payload, effect);
        if (action == Action.RemoveAccount) return _changeRemoveAccount(code, payload, effect);
        if (action == Action.AddCertificate) return _changeAddCertificate(code, payload, effect);
        return _changeRevokeCertificate(code, payload, effect);
    }

    /// @dev A new region with its first account and, with a nonzero fingerprint, certificate.
    function _changeAddRegion(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        (
            string memory name,
            address account,
            string memory agencyCode,
            bytes32 fingerprint,
            bytes memory cert
        ) = abi.decode(payload, (string, address, string, bytes32, bytes));
        _checkNewRegion(code, name);
        if (_regions[code].active) revert RegionAlreadyActive(code);
        _checkNewAccount(account);
        _checkAgency(code, agencyCode);
        bool withCertificate = fingerprint != bytes32(0);
        if (withCertificate) {
            _checkNewCertificate(fingerprint);
            _checkCertificateData(fingerprint, cert);
        }
        if (!effect) return payload;

        _addRegion(code, name);
        if (withCertificate) _addCertificate(code, fingerprint, agencyCode, cert);
        _addAccount(code, account, agencyCode);
        return abi.encode(name, account, agencyCode, fingerprint, bytes(""));
    }

    /// @dev The region stops being a member, with its accounts and certificates.
    function _changeRemoveRegion(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        _requireActive(code);
        if (_activeCount == 1) revert LastRegion(code);
        if (effect) _removeRegion(code);
        return payload;
    }

    /// @dev A new account of an agency of the region.
    function _changeAddAccount(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        (address account, string memory agencyCode) = abi.decode(payload, (address, string));
        _requireActive(code);
        _checkNewAccount(account);
        _checkAgency(code, agencyCode);
        if (effect) _addAccount(code, account, agencyCode);
        return payload;
    }

    /// @dev An account of the region stops being one (never its last).
    function _changeRemoveAccount(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        address account = abi.decode(payload, (address));
        _requireActive(code);
        if (_accountRegion[account] != code) revert AccountNotInRegion(account, code);
        if (_accounts[code].length == 1) revert LastAccount(code);
        if (effect) _removeAccount(code, account);
        return payload;
    }

    /// @dev A new signing certificate of an agency of the region.
    function _changeAddCertificate(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        (bytes32 fingerprint, string memory agencyCode, bytes memory cert) = abi.decode(
            payload,
            (bytes32, string, bytes)
        );
        _requireActive(code);
        _checkNewCertificate(fingerprint);
        _checkAgency(code, agencyCode);
        _checkCertificateData(fingerprint, cert);
        if (!effect) return payload;

        _addCertificate(code, fingerprint, agencyCode, cert);
        return abi.encode(fingerprint, agencyCode, bytes(""));
    }

    /// @dev A certificate of the region is retired.
    function _changeRevokeCertificate(
        uint32 code,
        bytes memory payload,
        bool effect
    ) private returns (bytes memory) {
        bytes32 fingerprint = abi.decode(payload, (bytes32));
        _requireActive(code);
        Certificate storage c = _certificates[fingerprint];
        if (c.registeredAt == 0) revert UnknownCertificate(fingerprint);
        if (c.region != code) revert CertificateNotInRegion(fingerprint, code, c.region);
        if (c.revokedAt != 0) revert CertificateAlreadyRevoked(fingerprint);
        if (effect) _revokeCertificate(code, fingerprint);
        return payload;
    }

    // ----------------------------------------------------------------------------- checks

    function _requireActive(uint32 code) private view {
        if (!_regions[code].active) revert RegionNotActive(code);
    }

    function _checkNewRegion(uint32 code, string memory name) private pure {
        if (code < 100000 || code > 999999) revert InvalidRegion(code);
        if (bytes(name).length == 0) revert EmptyName();
    }

    function _checkNewAccount(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        uint32 current = _accountRegion[account];
        if (current != 0) revert AccountAlreadyRegistered(account, current);
    }

    /// @dev An agency code is 18 characters 0-9/A-Z and belongs to one region for ever.
    function _checkAgency(uint32 code, string memory agencyCode) private view {
        bytes memory raw = bytes(agencyCode);
        if (raw.length != AGENCY_CODE_LENGTH) revert InvalidAgencyCode(agencyCode);
        for (uint256 i = 0; i < AGENCY_CODE_LENGTH; ++i) {
            bytes1 c = raw[i];
            if (!((c >= "0" && c <= "9") || (c >= "A" && c <= "Z"))) {
                revert InvalidAgencyCode(agencyCode);
            }
        }
        uint32 bound = _agencyRegion[agencyId(agencyCode)];
        if (bound != 0 && bound != code) revert AgencyInOtherRegion(agencyCode, bound);
    }

    function _checkNewCertificate(bytes32 fingerprint) private view {
        if (_certificates[fingerprint].registeredAt != 0) {
            revert CertificateAlreadyRegistered(fingerprint);
        }
    }

    function _checkCertificateData(bytes32 fingerprint, bytes memory cert) private pure {
        bytes32 computed = sha256(cert);
        if (computed != fingerprint) revert FingerprintMismatch(fingerprint, computed);
    }

    function _addRegion(uint32 code, string memory name) private {
        Region storage r = _regions[code];
        if (r.addedAt == 0) _regionCodes.push(code);
        r.name = name;
        r.active = true;
        ++r.membership;
        r.addedAt = uint64(block.timestamp);
        r.removedAt = 0;
        ++_activeCount;
        emit RegionAdded(code, name, uint64(block.timestamp));
    }

    /// @dev Retires the region's certificates and accounts: they can no longer anchor. Its
    /// agencies stay bound to it, so no other region can take over their namespaces.
    function _removeRegion(uint32 code) private {
        Region storage r = _regions[code];
        r.active = false;
        r.removedAt = uint64(block.timestamp);
        --_activeCount;
        emit RegionRemoved(code, uint64(block.timestamp));

        bytes32[] storage certs = _certificatesOf[code];
        for (uint256 i = 0; i < certs.length; ++i) {
            if (_certificates[certs[i]].revokedAt == 0) _revokeCertificate(code, certs[i]);
        }
        address[] memory accounts = _accounts[code];
        delete _accounts[code];
        for (uint256 i = 0; i < accounts.length; ++i) {
            delete _accountRegion[accounts[i]];
            delete _accountPosition[accounts[i]];
            emit AccountRemoved(code, accounts[i], uint64(block.timestamp));
        }
    }

    function _addAccount(uint32 code, address account, string memory agencyCode) private {
        _accounts[code].push(account);
        _accountPosition[account] = _accounts[code].length;
        _accountRegion[account] = code;
        bytes32 agency = agencyId(agencyCode);
        _accountAgency[account] = agency;
        _agencyRegion[agency] = code;
        emit AccountAdded(code, account, agencyCode, uint64(block.timestamp));
    }

    function _removeAccount(uint32 code, address account) private {
        address[] storage accounts = _accounts[code];
        uint256 index = _accountPosition[account] - 1;
        address last = accounts[accounts.length - 1];
        accounts[index] = last;
        _accountPosition[last] = index + 1;
        accounts.pop();
        delete _accountPosition[account];
        delete _accountRegion[account];
        emit AccountRemoved(code, account, uint64(block.timestamp));
    }

    function _addCertificate(
        uint32 code,
        bytes32 fingerprint,
        string memory agencyCode,
        bytes memory cert
    ) private {
        Certificate storage c = _certificates[fingerprint];
        c.region = code;
        c.registeredAt = uint64(block.timestamp);
        c.agencyCode = agencyCode;
        _agencyRegion[agencyId(agencyCode)] = code;
        _certificatesOf[code].push(fingerprint);
        emit CertificateAdded(code, fingerprint, agencyCode, cert, uint64(block.timestamp));
    }

    function _revokeCertificate(uint32 code, bytes32 fingerprint) private {
        _certificates[fingerprint].revokedAt = uint64(block.timestamp);
        emit CertificateRevoked(code, fingerprint, uint64(block.timestamp));
    }
}
