// A simple file system on a simulated disk: regular files with sizes and page-sized blocks, each
// with its vnode lock (the inode lock of seed 003), and character devices.
//
// Locking: `lock` (class "vnode") is held exclusively by read(2), write(2), ftruncate and fsync,
// and by the vnode pager for I/O. Disk transfers are switch points (the thread sleeps on I/O).
// The page cache is not here: it is the vnode's UVM object, one per vnode (see VnodePager).

import UVMSched

public final class Vnode: CustomStringConvertible {
    public let name: String
    public let id: Int
    /// File size in bytes (v_size).
    public var size: UInt64
    /// The vnode (inode) lock.
    public let lock: RWLock
    /// A bad disk block: every read of it while allocated, and every write to it, fails
    /// (fault injection: `file ... badpage=N`).
    public var badBlock: UInt64?
    /// Disk blocks of one page each; a missing block reads as zeros (a hole).
    private var blocks: [UInt64: [UInt8]] = [:]
    public let blockSize: Int

    public init(_ sched: Scheduler, name: String, id: Int, size: UInt64, fill: UInt8, blockSize: Int) {
        self.name = name
        self.id = id
        self.size = size
        self.blockSize = blockSize
        self.lock = RWLock(sched, class: "vnode", name: "vnode \(name)")
        if fill != 0 {
            let n = (size + UInt64(blockSize) - 1) / UInt64(blockSize)
            for b in 0..<n {
                let valid = Int(min(UInt64(blockSize), size - b * UInt64(blockSize)))
                var data = [UInt8](repeating: fill, count: valid)
                data.append(contentsOf: repeatElement(0, count: blockSize - valid))
                blocks[b] = data
            }
        }
    }

    public var description: String { "vnode \(name)" }

    /// A disk transfer failed (EIO).
    public struct IOError: Error {}

    /// Reads block `b` from disk (a switch point: the thread sleeps on the I/O).
    public func readBlock(_ b: UInt64, _ sched: Scheduler) async throws -> [UInt8]? {
        try await sched.switchPoint(.io, "read \(name) block \(b)")
        // A hole is read as zeros without touching the disk; an allocated bad block fails.
        guard let data = blocks[b] else { return nil }
        if b == badBlock { throw IOError() }
        return data
    }

    /// Writes block `b` to disk; all-zero contents are stored as a hole.
    public func writeBlock(_ b: UInt64, _ data: [UInt8]?, _ sched: Scheduler) async throws {
        try await sched.switchPoint(.io, "write \(name) block \(b)")
        if b == badBlock { throw IOError() }
        if let data, data.contains(where: { $0 != 0 }) { blocks[b] = data } else { blocks[b] = nil }
    }

    /// Frees the disk blocks past `newSize` and zeroes the tail of the last partial block, as a
    /// truncating file system does: growing the file again reads zeros there.
    public func truncateBlocks(to newSize: UInt64) {
        let bs = UInt64(blockSize)
        for b in blocks.keys where b * bs >= newSize { blocks[b] = nil }
        let tail = Int(newSize % bs)
        if tail != 0, var last = blocks[newSize / bs] {
            for i in tail..<blockSize { last[i] = 0 }
            blocks[newSize / bs] = last
        }
    }

    /// Number of allocated disk blocks (for tests and `uvm show`).
    public var allocatedBlocks: Int { blocks.count }
}

/// A character device for physio and dma: reads from it fill memory with its pattern; writes to it
/// are recorded.
public final class CharDevice: CustomStringConvertible {
    public let name: String
    public let pattern: UInt8
    /// Every byte the device received in its last write transfer.
    public var received: [UInt8] = []

    public init(name: String, pattern: UInt8) {
        self.name = name
        self.pattern = pattern
    }

    public var description: String { "device \(name)" }
}
