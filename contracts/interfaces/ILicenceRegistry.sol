// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title ILicenceRegistry
 * @notice What the licence registry offers: batches of licence leaves anchored by issuers the
 * directory names, and sparse status changes of single leaves, with its events and errors.
 *
 * A batch stores only its Merkle root and a one-slot record; every document's lookup key and
 * body travel in the `anchorBatch` calldata, from which anyone recomputes the leaves (see
 * `leafOf`) and checks them against the root the `BatchAnchored` event names.
 */
interface ILicenceRegistry {
    /// @notice Lifecycle status of a leaf. `Active` is the implicit status of any anchored leaf.
    enum Status {
        Active,
        Suspended,
        Revoked,
        Cancelled,
        ReportedLost,
        Superseded
    }

    /// @notice A batch as the registry keeps it (the agency and the submitter are in the event).
    struct Batch {
        bytes32 root;
        uint256 batchId;
        uint32 region;
        uint32 leafCount;
        uint64 blockNumber;
        uint64 timestamp;
    }

    /// @notice A leaf with the batch that anchored it and its Merkle proof in that batch.
    struct Member {
        bytes32 leaf;
        uint256 batchId;
        bytes32[] proof;
    }

    /// @notice The last status change of a leaf.
    struct LeafState {
        Status status;
        uint16 reason;
        uint64 since;
        uint64 blockNumber;
    }

    /// @notice The batch has no leaves.
    error EmptyBatch();
    /// @notice The batch has more leaves than `MAX_BATCH_LEAVES`.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice Leaves must be strictly ascending (sorted, no duplicates); `index` breaks the order.
    error LeavesNotSorted(uint256 index);
    /// @dev A key's ABI padding (its low 16 bytes in the calldata word) is not zero: the key
    /// would hash differently from what any decoder of the calldata reads.
    error KeyPaddingNotZero();
    /// @notice A batch with the same root was anchored before, as `batchId`.
    error BatchAlreadyAnchored(bytes32 root, uint256 batchId);
    /// @notice No batch has this id.
    error UnknownBatch(uint256 batchId);
    /// @notice No batch has this root.
    error UnknownRoot(bytes32 root);
    /// @notice The proof does not show `leaf` to be in batch `batchId`.
    error NotInBatch(bytes32 leaf, uint256 batchId);
    /// @notice The caller's region is not the region that anchored the leaf.
    error WrongRegion(uint32 callerRegion, uint32 leafRegion);
    /// @notice The directory lists the account as no current account of an active region.
    error NotAnIssuer(address account);
    /// @notice The lifecycle does not allow moving `leaf` from `from` to `to`.
    error InvalidTransition(bytes32 leaf, Status from, Status to);
    /// @notice `leaf` already has a successor version `child`.
    error SuccessorAlreadySet(bytes32 leaf, bytes32 child);
    /// @notice A leaf cannot succeed itself.
    error SelfSuccession(bytes32 leaf);

    /// @notice Batch `batchId` of `leafCount` leaves with Merkle root `root` was anchored by
    /// `submitter`, an account of `agency` of `region`. Its keys and bodies are the arguments
    /// of the `anchorBatch` call of this transaction; the leaves are recomputed from them.
    event BatchAnchored(
        uint256 indexed batchId,
        bytes32 indexed root,
        uint32 indexed region,
        bytes32 agency,
        address submitter,
        uint32 leafCount,
        uint64 timestamp
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
     * @notice Anchors a batch of documents for the caller's agency and returns its id.
     * @param keys The lookup key of each document (16 bytes: a truncated hash; lookups are
     * per agency, so 128 bits leave no practical collision, and the key's 16 zero padding bytes
     * cost a quarter of what 16 more hash bytes would).
     * @param bodies The body hash of each document, in the same order; the computed leaves
     * must come out strictly ascending (sort the documents by leaf before calling).
     * @return batchId The new batch's id (ids start at 1).
     */
    function anchorBatch(
        bytes16[] calldata keys,
        bytes32[] calldata bodies
    ) external returns (uint256 batchId);

    /**
     * @notice Changes the status of one anchored leaf of the caller's own region.
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
    ) external;

    /**
     * @notice Links a version to its successor version (an amendment or a re-issue).
     * @param parent The version being replaced, with its batch and Merkle proof.
     * @param child The new version, with its batch and Merkle proof.
     * @param reason The reason code recorded with the change.
     */
    function supersede(Member calldata parent, Member calldata child, uint16 reason) external;

    /**
     * @notice The leaf of a document with lookup key `key` and body `body` anchored by `agency`.
     * @param agency The anchoring agency's id (keccak256 of its code).
     * @param key The document's lookup key.
     * @param body The document's body hash.
     */
    function leafOf(bytes32 agency, bytes16 key, bytes32 body) external pure returns (bytes32);

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
    ) external view returns (bool);

    /**
     * @notice The current status of `leaf`; an anchored leaf never changed is `Active` since 0.
     * @param leaf A leaf.
     */
    function leafStatus(bytes32 leaf) external view returns (LeafState memory);

    /**
     * @notice The successor version of `leaf`, or zero when it has none.
     * @param leaf A leaf.
     */
    function successorOf(bytes32 leaf) external view returns (bytes32);
}
