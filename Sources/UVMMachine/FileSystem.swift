// A simple file system on a simulated disk: regular files with sizes and page-sized blocks, each
// with its vnode lock (the inode lock of OpenBSD's 2021 uvm_vnode.c diff), and character devices.
//
// Locking: `lock` (class "vnode") is held exclusively by read(2), write(2), ftruncate and fsync,
// and by the vnode pager for I/O. Disk transfers are switch points (the thread sleeps on I/O).
// The page cache is not here: it is the vnode's UVM object, one per vnode (see VnodePager).

import UVMSched

public final class Vnode: CustomStringConvertible {
    public let name: String
    public let id: Int
    /// File size in bytes (v_size).
    public package(set) var size: UInt64
    /// The vnode (inode) lock.
    public let lock: RWLock
    /// A bad disk block: every read of it while allocated, and every write to it, fails
    /// (fault injection: `file ... badpage=N`).
    public package(set) var badBlock: UInt64?
    /// Disk blocks of one page each that were written since the file was made; a missing block
    /// reads as the file's initial contents: `fill` below `fillEnd`, zeros past it (a hole).
    private var blocks: [UInt64: [UInt8]] = [:]
    public let blockSize: Int
    /// The file's initial contents, materialised block by block only when written, so a file
    /// costs what is written to it whatever its size and fill byte.
    private let fill: UInt8
    private var fillEnd: UInt64

    public init(_ sched: Scheduler, name: String, id: Int, size: UInt64, fill: UInt8, blockSize: Int) {
        self.name = name
        self.id = id
        self.size = size
        self.blockSize = blockSize
        self.lock = RWLock(sched, class: "vnode", name: "vnode \(name)")
        self.fill = fill
        self.fillEnd = fill == 0 ? 0 : size
    }

    /// Blocks that still hold the initial fill unless written: those starting below `fillEnd`.
    private var filledBlocks: UInt64 {
        fillEnd / UInt64(blockSize) + (fillEnd % UInt64(blockSize) == 0 ? 0 : 1)
    }

    /// Block `b` as the file was made: the fill byte up to `fillEnd`, zeros after; nil for a hole.
    private func initialBlock(_ b: UInt64) -> [UInt8]? {
        guard b < filledBlocks else { return nil }
        let valid = Int(min(UInt64(blockSize), fillEnd - b * UInt64(blockSize)))
        return [UInt8](repeating: fill, count: valid) + repeatElement(0, count: blockSize - valid)
    }

    public var description: String { "vnode \(name)" }

    /// Runs `body` with the vnode locked exclusively, releasing it however `body` ends, except
    /// when the run is being aborted (the scheduler tears every lock down then).
    public func withLock<T>(_ body: () async throws -> T) async throws -> T {
        try await lock.enter(.writer)
        let result: T
        do {
            result = try await body()
        } catch let abort as SimAbort {
            throw abort
        } catch {
            try await lock.exit()
            throw error
        }
        try await lock.exit()
        return result
    }

    /// A disk transfer failed (EIO).
    public struct IOError: Error {}

    /// Reads block `b` from disk (a switch point: the thread sleeps on the I/O).
    public func readBlock(_ b: UInt64, _ sched: Scheduler) async throws -> [UInt8]? {
        try await sched.switchPoint(.io, "read \(name) block \(b)")
        // A hole is read as zeros without touching the disk; an allocated bad block fails.
        guard let data = blocks[b] ?? initialBlock(b) else { return nil }
        if b == badBlock { throw IOError() }
        return data
    }

    /// What block `b` holds on disk now, without I/O (nil: a hole, read as zeros). The audit
    /// compares clean cached pages with it; the kernel always goes through `readBlock`.
    public func storedBlock(_ b: UInt64) -> [UInt8]? { blocks[b] ?? initialBlock(b) }

    /// Writes block `b` to disk; all-zero contents are stored as a hole, unless the block would
    /// then read as its initial fill.
    public func writeBlock(_ b: UInt64, _ data: [UInt8]?, _ sched: Scheduler) async throws {
        try await sched.switchPoint(.io, "write \(name) block \(b)")
        if b == badBlock { throw IOError() }
        if let data, data.contains(where: { $0 != 0 }) {
            blocks[b] = data
        } else {
            blocks[b] = b < filledBlocks ? [UInt8](repeating: 0, count: blockSize) : nil
        }
    }

    /// Frees the disk blocks past `newSize` and zeroes the tail of the last partial block, as a
    /// truncating file system does: growing the file again reads zeros there.
    public func truncateBlocks(to newSize: UInt64) {
        let bs = UInt64(blockSize)
        fillEnd = min(fillEnd, newSize)
        for b in blocks.keys where b >= newSize / bs + (newSize % bs == 0 ? 0 : 1) { blocks[b] = nil }
        let tail = Int(newSize % bs)
        if tail != 0, var last = blocks[newSize / bs] {
            for i in tail..<blockSize { last[i] = 0 }
            blocks[newSize / bs] = last
        }
    }

    /// Number of allocated disk blocks (for tests and `uvm show`): those written and those
    /// still holding the initial fill.
    public var allocatedBlocks: Int {
        Int(clamping: filledBlocks) + blocks.keys.filter { $0 >= filledBlocks }.count
    }
}

/// A character device for physio and dma: reads from it fill memory with its pattern; writes to it
/// are recorded.
public final class CharDevice: CustomStringConvertible {
    public let name: String
    public let pattern: UInt8
    /// Every byte the device received in its last write transfer.
    public package(set) var received: [UInt8] = []

    public init(name: String, pattern: UInt8) {
        self.name = name
        self.pattern = pattern
    }

    public var description: String { "device \(name)" }
}
