// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {IIssuerDirectory} from "./interfaces/IIssuerDirectory.sol";

/**
 * @title LicenceRegistry
 * @notice Anchors batches of licence leaves and records sparse status changes of single leaves.
 *
 * The caller gives, per document, a lookup key (a hash of the identifier and the QR claims
 * the agency signed) and a body (a hash of the document digest, data root, kind and parent
 * leaf); no personal data ever reaches the chain. The contract itself computes each leaf as
 * `keccak256(keccak256(abi.encode(agency, key, body)))` with the agency the directory names
 * for the caller, so a leaf carries its issuing agency by construction: no other agency or
 * region can ever anchor the same leaf or a leaf under the same agency's key, and a leaf found
 * in the index is known to come from the agency whose id it was computed with.
 * Each batch stores one Merkle root (OpenZeppelin `MerkleProof` compatible: sorted pairs,
 * keccak256) and emits every leaf with its key, so any region can index every leaf from the
 * chain alone. A status change writes only the leaf it touches, after the caller proves with
 * a Merkle proof that the leaf belongs to a batch anchored by its own region.
 *
 * There is no admin: who may anchor is what the `IIssuerDirectory` (the consortium's M-of-N
 * governed directory) says at the moment of the call.
 */
contract LicenceRegistry {
    /// @notice Upper bound on leaves per batch, keeping one anchor transaction's gas bounded.
    uint256 public constant MAX_BATCH_LEAVES = 1024;

    /// @notice Lifecycle status of a leaf. `Active` is the implicit status of any anchored leaf.
    enum Status {
        Active,
        Suspended,
        Revoked,
        Cancelled,
        ReportedLost,
        Superseded
    }

    struct Batch {
        bytes32 root;
        uint32 region;
        bytes32 agency;
        address submitter;
        uint64 blockNumber;
        uint64 timestamp;
        uint32 leafCount;
    }

    /// @notice A leaf with the batch that anchored it and its Merkle proof in that batch.
    struct Member {
        bytes32 leaf;
        uint256 batchId;
        bytes32[] proof;
    }

    struct LeafState {
        Status status;
        uint16 reason;
        uint64 since;
        uint64 blockNumber;
    }

    IIssuerDirectory private immutable _directory;
    Batch[] private _batches;
    mapping(bytes32 root => uint256 batchId) private _batchOfRoot;
    mapping(bytes32 leaf => LeafState) private _leafState;
    mapping(bytes32 leaf => bytes32 child) private _successor;

    /// @notice The batch has no leaves.
    error EmptyBatch();
    /// @notice The batch has more leaves than `MAX_BATCH_LEAVES`.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice `bodies` must have one entry per key.
    error LengthMismatch(uint256 keys, uint256 bodies);
    /// @notice Leaves must be strictly ascending (sorted, no duplicates); `index` breaks the order.
    error LeavesNotSorted(uint256 index);
    /// @notice A batch with the same root was anchored before, as `batchId`.
    error BatchAlreadyAnchored(bytes32 root, uint256 batchId);
    /// @notice No batch has this id.
    error UnknownBatch(uint256 batchId);
    /// @notice The proof does not show `leaf` to be in batch `batchId`.
    error NotInBatch(bytes32 leaf, uint256 batchId);
    /// @notice The caller's region is not the region that anchored the leaf.
    error WrongRegion(uint32 callerRegion, uint32 leafRegion);
    /// @notice The directory address cannot be zero.
    error ZeroAddress();
    /// @notice The directory lists the account as no current account of an active region.
    error NotAnIssuer(address account);
    /// @notice The lifecycle does not allow moving `leaf` from `from` to `to`.
    error InvalidTransition(bytes32 leaf, Status from, Status to);
    /// @notice `leaf` already has a successor version `child`.
    error SuccessorAlreadySet(bytes32 leaf, bytes32 child);
    /// @notice A leaf cannot succeed itself.
    error SelfSuccession(bytes32 leaf);

    /// @notice A batch was anchored by `submitter`, an account of `agency` of `region`; `leaves`
    /// are all its leaves in ascending order and `keys[i]` is the lookup key of `leaves[i]`.
    event BatchAnchored(
        uint256 indexed batchId,
        bytes32 indexed root,
        uint32 indexed region,
        bytes32 agency,
        address submitter,
        uint64 timestamp,
        bytes32[] leaves,
        bytes32[] keys
    );
    /// @notice The status of `leaf` (in batch `batchId`) changed from `from` to `to`.
    event LeafStatusChanged(
        bytes32 indexed leaf,
        uint256 indexed batchId,
        uint32 indexed region,
        Status from,
        Status to,
        uint16 reason,
        uint64 timestamp
    );

    /// @notice `leaf` was replaced by the newer version `child`.
    event LeafSuperseded(
        bytes32 indexed leaf,
        bytes32 indexed child,
        uint32 indexed region,
        uint64 timestamp
    );

    /**
     * @param issuerDirectory The consortium's directory: the one source of truth for who issues.
     */
    constructor(IIssuerDirectory issuerDirectory) {
        if (address(issuerDirectory) == address(0)) revert ZeroAddress();
        _directory = issuerDirectory;
    }

    /// @notice The directory this registry asks who may anchor and change statuses.
    function directory() external view returns (address) {
        return address(_directory);
    }

    /**
     * @notice The region and agency `account` anchors for now (region 0: not an issuer).
     * @param account A chain account.
     */
    function issuerOf(address account) external view returns (uint32 region, bytes32 agency) {
        return _directory.issuerOf(account);
    }

    // ----------------------------------------------------------------------------- anchoring

    /**
     * @notice Anchors a batch of documents for the caller's agency and returns its id.
     * @dev Leaves and root are computed here, so a leaf always names the agency that anchored
     * it and the root can never disagree with the emitted leaves.
     * @param keys The lookup key of each document.
     * @param bodies The body hash of each document, in the same order; the computed leaves
     * must come out strictly ascending (sort the documents by leaf before calling).
     * @return batchId The new batch's id (ids start at 1).
     */
    function anchorBatch(
        bytes32[] calldata keys,
        bytes32[] calldata bodies
    ) external returns (uint256 batchId) {
        (uint32 region, bytes32 agency) = _issuer();
        uint256 n = keys.length;
        if (n == 0) revert EmptyBatch();
        if (bodies.length != n) revert LengthMismatch(n, bodies.length);
        if (n > MAX_BATCH_LEAVES) revert BatchTooLarge(n, MAX_BATCH_LEAVES);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = leafOf(agency, keys[i], bodies[i]);
            if (i > 0 && leaves[i] <= leaves[i - 1]) revert LeavesNotSorted(i);
        }
        batchId = _record(region, agency, leaves, keys);
    }

    /**
     * @notice The leaf of a document with lookup key `key` and body `body` anchored by
     * `agency`: hashed twice, as OpenZeppelin's StandardMerkleTree does, so a leaf can never
     * be confused with an inner node.
     * @param agency The anchoring agency's id (keccak256 of its code).
     * @param key The document's lookup key.
     * @param body The document's body hash.
     */
    function leafOf(bytes32 agency, bytes32 key, bytes32 body) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(agency, key, body))));
    }

    /**
     * @notice The Merkle root of `leaves` as this contract computes it.
     * @dev Adjacent pairs are hashed with sorted order (commutative keccak256); an odd last node
     * is carried up unchanged. Any proof built the same way verifies with `MerkleProof`.
     * @param leaves The leaves in the order they are anchored.
     */
    function merkleRoot(bytes32[] calldata leaves) external pure returns (bytes32) {
        if (leaves.length == 0) revert EmptyBatch();
        return _root(leaves);
    }

    /// @dev The root of a non-empty list of leaves; `leaves` itself is left unchanged.
    function _root(bytes32[] memory leaves) private pure returns (bytes32) {
        uint256 n = leaves.length;
        bytes32[] memory layer = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) layer[i] = leaves[i];
        while (n > 1) {
            uint256 half = n / 2;
            for (uint256 i = 0; i < half; ++i) {
                layer[i] = Hashes.commutativeKeccak256(layer[2 * i], layer[2 * i + 1]);
            }
            if (n % 2 == 1) {
                layer[half] = layer[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
        }
        return layer[0];
    }

    // ----------------------------------------------------------------------------- status

    /**
     * @notice Changes the status of one anchored leaf of the caller's own region.
     * @dev Allowed: Active -> Suspended | Revoked | Cancelled | ReportedLost;
     * Suspended -> Active | Revoked | Cancelled. Revoked, Cancelled, ReportedLost are terminal.
     * Superseded is set only by an amendment, never here.
     * @param leaf The leaf whose status changes.
     * @param batchId The batch that anchored `leaf`.
     * @param proof Merkle proof of `leaf` in that batch.
     * @param to The new status.
     * @param reason The reason code recorded with the change.
     */
    function changeStatus(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof,
        Status to,
        uint16 reason
    ) external {
        uint32 region = _requireOwn(leaf, batchId, proof);
        Status from = _leafState[leaf].status;
        if (!_allowed(from, to)) revert InvalidTransition(leaf, from, to);
        _setStatus(leaf, batchId, region, from, to, reason);
    }

    /**
     * @notice Links a version to its successor version (an amendment or a re-issue).
     * @dev Active or Suspended leaves become Superseded; a ReportedLost leaf keeps its status
     * (the loss stays visible) but still points to the re-issued version. Both leaves must be
     * anchored by the caller's region.
     * @param parent The version being replaced, with its batch and Merkle proof.
     * @param child The new version, with its batch and Merkle proof.
     * @param reason The reason code recorded with the change.
     */
    function supersede(
        Member calldata parent,
        Member calldata child,
        uint16 reason
    ) external {
        bytes32 leaf = parent.leaf;
        if (child.leaf == leaf) revert SelfSuccession(leaf);
        uint32 region = _requireOwn(leaf, parent.batchId, parent.proof);
        _requireOwn(child.leaf, child.batchId, child.proof);
        bytes32 existing = _successor[leaf];
        if (existing != bytes32(0)) revert SuccessorAlreadySet(leaf, existing);
        Status from = _leafState[leaf].status;
        bool changes = from == Status.Active || from == Status.Suspended;
        if (!changes && from != Status.ReportedLost) {
            revert InvalidTransition(leaf, from, Status.Superseded);
        }

        _successor[leaf] = child.leaf;
        if (changes) _setStatus(leaf, parent.batchId, region, from, Status.Superseded, reason);
        emit LeafSuperseded(leaf, child.leaf, region, uint64(block.timestamp));
    }

    // ----------------------------------------------------------------------------- views

    /**
     * @notice The successor version of `leaf`, or zero when it has none.
     * @param leaf A leaf.
     */
    function successorOf(bytes32 leaf) external view returns (bytes32) {
        return _successor[leaf];
    }

    /// @notice Number of batches anchored so far (the newest batch's id).
    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    /**
     * @notice The batch with id `batchId`.
     * @param batchId A batch id, from 1 to `batchCount()`.
     */
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        return _batch(batchId);
    }

    /**
     * @notice The id of the batch whose root is `root`, or 0 when none is.
     * @param root A Merkle root.
     */
    function batchIdOfRoot(bytes32 root) external view returns (uint256) {
        return _batchOfRoot[root];
    }

    /**
     * @notice The current status of `leaf`; an anchored leaf never changed is `Active` since 0.
     * @param leaf A leaf.
     */
    function leafStatus(bytes32 leaf) external view returns (LeafState memory) {
        return _leafState[leaf];
    }

    /**
     * @notice Whether `proof` shows `leaf` to be in batch `batchId`.
     * @param leaf A leaf.
     * @param batchId A batch id.
     * @param proof Merkle proof of `leaf` in that batch.
     */
    function isAnchored(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (batchId == 0 || batchId > _batches.length) return false;
        return MerkleProof.verifyCalldata(proof, _batches[batchId - 1].root, leaf);
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Stores a batch of computed leaves and announces it with every leaf and key.
    function _record(
        uint32 region,
        bytes32 agency,
        bytes32[] memory leaves,
        bytes32[] calldata keys
    ) private returns (uint256 batchId) {
        bytes32 root = _root(leaves);
        {
            uint256 existing = _batchOfRoot[root];
            if (existing != 0) revert BatchAlreadyAnchored(root, existing);
        }
        _batches.push(
            Batch({
                root: root,
                region: region,
                agency: agency,
                submitter: msg.sender,
                blockNumber: uint64(block.number),
                timestamp: uint64(block.timestamp),
                leafCount: uint32(leaves.length)
            })
        );
        batchId = _batches.length;
        _batchOfRoot[root] = batchId;
        emit BatchAnchored(
            batchId,
            root,
            region,
            agency,
            msg.sender,
            uint64(block.timestamp),
            leaves,
            keys
        );
    }

    function _batch(uint256 batchId) private view returns (Batch storage) {
        if (batchId == 0 || batchId > _batches.length) revert UnknownBatch(batchId);
        return _batches[batchId - 1];
    }

    function _requireMember(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof
    ) private view returns (Batch storage b) {
        b = _batch(batchId);
        if (!MerkleProof.verifyCalldata(proof, b.root, leaf)) revert NotInBatch(leaf, batchId);
    }

    /// @dev Proves `leaf` is in `batchId` and that the caller's region anchored that batch.
    function _requireOwn(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof
    ) private view returns (uint32 region) {
        region = _requireMember(leaf, batchId, proof).region;
        (uint32 callerRegion, ) = _issuer();
        if (region != callerRegion) revert WrongRegion(callerRegion, region);
    }

    /// @dev The caller's region and agency as the directory says now; reverts for a non-issuer.
    function _issuer() private view returns (uint32 region, bytes32 agency) {
        (region, agency) = _directory.issuerOf(msg.sender);
        if (region == 0) revert NotAnIssuer(msg.sender);
    }

    function _setStatus(
        bytes32 leaf,
        uint256 batchId,
        uint32 region,
        Status from,
        Status to,
        uint16 reason
    ) private {
        _leafState[leaf] = LeafState({
            status: to,
            reason: reason,
            since: uint64(block.timestamp),
            blockNumber: uint64(block.number)
        });
        emit LeafStatusChanged(leaf, batchId, region, from, to, reason, uint64(block.timestamp));
    }

    function _allowed(Status from, Status to) private pure returns (bool) {
        if (from == Status.Active) {
            return
                to == Status.Suspended ||
                to == Status.Revoked ||
                to == Status.Cancelled ||
                to == Status.ReportedLost;
        }
        if (from == Status.Suspended) {
            return to == Status.Active || to == Status.Revoked || to == Status.Cancelled;
        }
        return false;
    }
}
