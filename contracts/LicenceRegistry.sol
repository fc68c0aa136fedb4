// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IIssuerDirectory} from "./interfaces/IIssuerDirectory.sol";
import {ILicenceRegistry} from "./interfaces/ILicenceRegistry.sol";
import {ZeroAddress, LengthMismatch} from "./interfaces/Errors.sol";

/**
 * @title LicenceRegistry
 * @notice Anchors batches of licence leaves and records sparse status changes of single leaves.
 *
 * The caller gives, per document, a 16-byte lookup key (a truncated hash of the identifier and
 * the QR claims the agency signed) and a body (a hash of the document digest, data root, kind and parent
 * leaf); no personal data ever reaches the chain. The contract itself computes each leaf as
 * `keccak256(keccak256(abi.encode(agency, key, body)))` with the agency the directory names
 * for the caller, so a leaf carries its issuing agency by construction: no other agency or
 * region can ever anchor the same leaf or a leaf under the same agency's key, and a leaf found
 * in the index is known to come from the agency whose id it was computed with.
 *
 * Each batch stores one Merkle root (OpenZeppelin `MerkleProof` compatible: sorted pairs,
 * keccak256) with a one-slot record, and announces it in `BatchAnchored`. The keys and bodies
 * are not repeated in the event: they are the calldata of the anchoring transaction, which any
 * node serves (`eth_getTransactionByHash`), so any region recomputes every leaf and checks it
 * against the root from the chain alone. A status change writes only the leaf it touches,
 * after the caller proves with a Merkle proof that the leaf belongs to a batch anchored by its
 * own region.
 *
 * There is no admin: who may anchor is what the `IIssuerDirectory` (the consortium's M-of-N
 * governed directory) says at the moment of the call.
 */
contract LicenceRegistry is ILicenceRegistry {
    /// @notice Upper bound on leaves per batch, keeping one anchor transaction's gas bounded.
    uint256 public constant MAX_BATCH_LEAVES = 1024;

    /// @dev What the registry keeps of a batch: one storage slot, keyed by its root.
    struct BatchRecord {
        uint64 batchId;
        uint32 region;
        uint32 leafCount;
        uint64 blockNumber;
        uint64 timestamp;
    }

    IIssuerDirectory private immutable _directory;
    uint64 private _batchCount;
    mapping(bytes32 root => BatchRecord) private _batchOfRoot;
    mapping(bytes32 leaf => LeafState) private _leafState;
    mapping(bytes32 leaf => bytes32 child) private _successor;

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
     * @inheritdoc ILicenceRegistry
     * @dev Leaves and root are computed here, so a leaf always names the agency that anchored
     * it and the root can never disagree with the leaves the calldata yields.
     */
    function anchorBatch(
        bytes16[] calldata keys,
        bytes32[] calldata bodies
    ) external returns (uint256 batchId) {
        (uint32 region, bytes32 agency) = _issuer(msg.sender);
        uint256 n = keys.length;
        if (n == 0) revert EmptyBatch();
        if (bodies.length != n) revert LengthMismatch(n, bodies.length);
        if (n > MAX_BATCH_LEAVES) revert BatchTooLarge(n, MAX_BATCH_LEAVES);
        bytes32 root = _rootOfDocuments(agency, keys, bodies);
        uint64 existing = _batchOfRoot[root].batchId;
        if (existing != 0) revert BatchAlreadyAnchored(root, existing);

        uint64 id = _batchCount + 1;
        _batchCount = id;
        _batchOfRoot[root] = BatchRecord({
            batchId: id,
            region: region,
            leafCount: uint32(n),
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp)
        });
        emit BatchAnchored(id, root, region, agency, msg.sender, uint32(n), uint64(block.timestamp));
        return id;
    }

    /**
     * @notice The leaf of a document with lookup key `key` and body `body` anchored by
     * `agency`: hashed twice, as OpenZeppelin's StandardMerkleTree does, so a leaf can never
     * be confused with an inner node.
     * @param agency The anchoring agency's id (keccak256 of its code).
     * @param key The document's lookup key.
     * @param body The document's body hash.
     */
    function leafOf(bytes32 agency, bytes16 key, bytes32 body) external pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(agency, key, body))));
    }

    /**
     * @notice The Merkle root of `leaves` as this contract computes it.
     * @dev Adjacent pairs are hashed with sorted order (commutative keccak256); an odd last node
     * is carried up unchanged. Any proof built the same way verifies with `MerkleProof`.
     * @param leaves The leaves in the order they are anchored.
     */
    function merkleRoot(bytes32[] calldata leaves) external pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) revert EmptyBatch();
        uint256 layer;
        assembly ("memory-safe") {
            layer := mload(0x40)
            calldatacopy(layer, leaves.offset, shl(5, n))
        }
        return _reduceInPlace(layer, n);
    }

    /**
     * @dev The root of the documents' leaves, without a Solidity array: the leaves are hashed
     * two by two into the tree's first layer of parents, written past the free memory pointer
     * and reduced there in place (the same tree as `merkleRoot`). Reverts `LeavesNotSorted(i)`
     * at the first leaf `i` not above the one before it (the first leaf is compared with zero,
     * which no keccak256 output equals in practice).
     *
     * This loop is most of an anchor's execution, so it is written for gas: the 96 bytes of
     * `abi.encode(agency, key, body)` are built at the fixed addresses 0x00-0x5f (over the
     * free memory pointer) and the inner hash goes to 0x60 (the zero slot); both words are
     * restored before the block ends, which is why it is not marked memory-safe.
     */
    function _rootOfDocuments(
        bytes32 agency,
        bytes16[] calldata keys,
        bytes32[] calldata bodies
    ) private pure returns (bytes32) {
        uint256 layer;
        uint256 unsortedAt; // 1 + the index of the first leaf out of order, 0: none
        uint256 padding; // the keys' padding bytes OR-ed together: must stay zero
        assembly {
            layer := mload(0x40)
            mstore(0x00, agency)
            let dst := layer
            let previous := 0
            let k := keys.offset
            let b := bodies.offset
            for {
                let pairsEnd := add(k, shl(6, shr(1, keys.length)))
            } lt(k, pairsEnd) {
                k := add(k, 0x40)
                b := add(b, 0x40)
            } {
                let kl := calldataload(k)
                let kr := calldataload(add(k, 0x20))
                padding := or(padding, or(kl, kr))
                mstore(0x20, kl)
                mstore(0x40, calldataload(b))
                mstore(0x60, keccak256(0x00, 0x60))
                let left := keccak256(0x60, 0x20)
                mstore(0x20, kr)
                mstore(0x40, calldataload(add(b, 0x20)))
                mstore(0x60, keccak256(0x00, 0x60))
                let right := keccak256(0x60, 0x20)
                if iszero(and(gt(left, previous), gt(right, left))) {
                    unsortedAt := add(add(1, shr(5, sub(k, keys.offset))), gt(left, previous))
                    break
                }
                mstore(dst, left)
                mstore(add(dst, 0x20), right)
                mstore(dst, keccak256(dst, 0x40))
                dst := add(dst, 0x20)
                previous := right
            }
            if and(iszero(unsortedAt), and(keys.length, 1)) {
                let kl := calldataload(k)
                padding := or(padding, kl)
                mstore(0x20, kl)
                mstore(0x40, calldataload(b))
                mstore(0x60, keccak256(0x00, 0x60))
                let last := keccak256(0x60, 0x20)
                if iszero(gt(last, previous)) {
                    unsortedAt := add(1, shr(5, sub(k, keys.offset)))
                }
                mstore(dst, last)
            }
            mstore(0x40, layer) // the free memory pointer, as it was
            mstore(0x60, 0) // the zero slot
            padding := and(padding, 0xffffffffffffffffffffffffffffffff) // the low 16 bytes
        }
        if (padding != 0) revert KeyPaddingNotZero();
        if (unsortedAt != 0) revert LeavesNotSorted(unsortedAt - 1);
        return _reduceInPlace(layer, (keys.length + 1) / 2);
    }

    /**
     * @dev The Merkle root of the `n` words at memory `layer` (past the free memory pointer),
     * which it overwrites: each layer's pairs are hashed in sorted order into the front of the
     * same words (OpenZeppelin's commutative keccak256), an odd last node moves up unchanged.
     * A pair already in order is hashed where it lies; only a descending pair is copied.
     */
    function _reduceInPlace(uint256 layer, uint256 n) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            for {} gt(n, 1) {} {
                let src := layer
                let dst := layer
                for {
                    let end := add(layer, shl(6, shr(1, n)))
                } lt(src, end) {
                    src := add(src, 0x40)
                    dst := add(dst, 0x20)
                } {
                    let a := mload(src)
                    let b := mload(add(src, 0x20))
                    if gt(a, b) {
                        mstore(src, b)
                        mstore(add(src, 0x20), a)
                    }
                    mstore(dst, keccak256(src, 0x40))
                }
                if and(n, 1) {
                    mstore(dst, mload(src))
                }
                n := add(shr(1, n), and(n, 1))
            }
            root := mload(layer)
        }
    }

    // ----------------------------------------------------------------------------- status

    /**
     * @inheritdoc ILicenceRegistry
     * @dev Allowed: Active -> Suspended | Revoked | Cancelled | ReportedLost;
     * Suspended -> Active | Revoked | Cancelled. Revoked, Cancelled, ReportedLost are terminal.
     * Superseded is set only by an amendment, never here.
     */
    function changeStatus(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof,
        Status to,
        uint16 reason
    ) external {
        (uint32 callerRegion, ) = _issuer(msg.sender);
        uint32 region = _requireOwn(leaf, batchId, proof, callerRegion);
        Status from = _leafState[leaf].status;
        if (!_allowed(from, to)) revert InvalidTransition(leaf, from, to);
        _setStatus(leaf, batchId, region, from, to, reason);
    }

    /**
     * @inheritdoc ILicenceRegistry
     * @dev Active or Suspended leaves become Superseded; a ReportedLost leaf keeps its status
     * (the loss stays visible) but still points to the re-issued version. Both leaves must be
     * anchored by the caller's region.
     */
    function supersede(Member calldata parent, Member calldata child, uint16 reason) external {
        bytes32 leaf = parent.leaf;
        if (child.leaf == leaf) revert SelfSuccession(leaf);
        (uint32 callerRegion, ) = _issuer(msg.sender);
        uint32 region = _requireOwn(leaf, parent.batchId, parent.proof, callerRegion);
        _requireOwn(child.leaf, child.batchId, child.proof, callerRegion);
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

    /// @inheritdoc ILicenceRegistry
    function successorOf(bytes32 leaf) external view returns (bytes32) {
        return _successor[leaf];
    }

    /// @notice Number of batches anchored so far (the newest batch's id).
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /**
     * @notice The batch whose Merkle root is `root`; reverts `UnknownRoot` when none is.
     * @param root A Merkle root (the `BatchAnchored` event names each batch's).
     */
    function batchOfRoot(bytes32 root) external view returns (Batch memory) {
        BatchRecord memory r = _batchOfRoot[root];
        if (r.batchId == 0) revert UnknownRoot(root);
        return Batch(root, r.batchId, r.region, r.leafCount, r.blockNumber, r.timestamp);
    }

    /**
     * @notice The id of the batch whose root is `root`, or 0 when none is.
     * @param root A Merkle root.
     */
    function batchIdOfRoot(bytes32 root) external view returns (uint256) {
        return _batchOfRoot[root].batchId;
    }

    /// @inheritdoc ILicenceRegistry
    function leafStatus(bytes32 leaf) external view returns (LeafState memory) {
        return _leafState[leaf];
    }

    /// @inheritdoc ILicenceRegistry
    function isAnchored(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (batchId == 0) return false;
        return _batchOfRoot[MerkleProof.processProofCalldata(proof, leaf)].batchId == batchId;
    }

    // ----------------------------------------------------------------------------- internals

    /// @dev Proves `leaf` is in `batchId` (the root its proof yields is that batch's) and that
    /// `callerRegion` anchored that batch; returns the batch's region.
    function _requireOwn(
        bytes32 leaf,
        uint256 batchId,
        bytes32[] calldata proof,
        uint32 callerRegion
    ) private view returns (uint32 region) {
        if (batchId == 0 || batchId > _batchCount) revert UnknownBatch(batchId);
        BatchRecord storage b = _batchOfRoot[MerkleProof.processProofCalldata(proof, leaf)];
        if (b.batchId != batchId) revert NotInBatch(leaf, batchId);
        region = b.region;
        if (region != callerRegion) revert WrongRegion(callerRegion, region);
    }

    /// @dev The account's region and agency as the directory says now; reverts for a non-issuer.
    function _issuer(address account) private view returns (uint32 region, bytes32 agency) {
        (region, agency) = _directory.issuerOf(account);
        if (region == 0) revert NotAnIssuer(account);
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
