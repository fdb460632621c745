// The file system calls: read(2), write(2), ftruncate(2), fsync(2) — coherent with mappings
// because they go through the same page cache (the vnode's UVM object, as NetBSD's UBC).
//
// Locking: each holds the file's vnode lock while it works on the page cache, taking the object
// lock per page. Copies to and from user memory happen with the vnode unlocked (what FreeBSD's
// vn_io_fault achieves): a copy may fault on any file — this one included (W13) — and no fault
// then waits for a vnode lock while its thread keeps another vnode locked, which would deadlock
// two threads each writing one file from a mapping of the other.

import UVMCore
import UVMMachine
import UVMSched

extension Kernel {
    /// The largest file size and offset: off_t's (OFF_T_MAX).
    public static let maxFileSize = UInt64(Int64.max)

    /// The largest transfer of one read(2) or write(2): SSIZE_MAX (dofileread, dofilewrite).
    public static let maxTransfer = UInt64(Int64.max)

    /// write(2) at `offset`: copies `length` bytes in from user memory at `from` (EFAULT, and
    /// nothing written, if it cannot), then writes them, extending the file if needed (never for
    /// a zero length). A length
    /// past SSIZE_MAX is EINVAL (dofilewrite); a write ending past the largest file is EFBIG
    /// before anything is copied (ffs_write checks um_maxfilesize first), and so, here, is one
    /// starting at a negative offset, which pwrite's VOP_SEEK refuses with EINVAL in NetBSD.
    @discardableResult
    public func write(_ lwp: LWP, file name: String, offset: UInt64, from: UInt64, length: UInt64) async throws -> UInt64 {
        // The image the call started in (see mincore): every chunk comes from it.
        let map = try liveProc(lwp).map
        let vnode = try file(name)
        // A negative off_t is EINVAL before any size check (VOP_SEEK in sys_pwrite), as for read.
        guard offset <= Self.maxFileSize, length <= Self.maxTransfer else { throw Errno.EINVAL }
        // Nothing to write changes nothing, not even the size: ffs_write returns 0 at once for a
        // zero uio_resid, so a zero-length write past the end does not extend the file.
        if length == 0 { return 0 }
        guard case (let end, false) = offset.addingReportingOverflow(length), end <= Self.maxFileSize else {
            throw Errno.EFBIG
        }
        // A buffer wrapping past 2^64 is not user memory; otherwise a page at a time, so a copy
        // that faults stops there (uiomove) and costs what it copied.
        guard !from.addingReportingOverflow(length).overflow else { throw Errno.EFAULT }
        var bytes: [UInt8] = []
        while UInt64(bytes.count) < length {
            let at = from + UInt64(bytes.count)
            let chunk = min(length - UInt64(bytes.count), UInt64(pageSize) - (at & pageMask))
            bytes += try await copyin(map, at, chunk)
        }
        let obj = uvm.vnodeObject(vnode)
        try await vnode.lock.enter(.writer)
        let oldSize = vnode.size
        do {
            if end > vnode.size { try await obj.setSize(end) }
            var at = offset
            while at < end {
                let inPage = Int(at & pageMask)
                let n = Int(min(UInt64(pageSize - inPage), end - at))
                guard let pg = try await obj.residentPageLocked(at >> UInt64(uvm.pageShift), writing: true) else {
                    throw Errno.EIO
                }
                let from = Int(at - offset)
                pg.write(inPage, bytes[from..<(from + n)], pageSize: pageSize)
                pg.dirty = true
                try await obj.lock.exit()
                at += UInt64(n)
            }
        } catch let error as SimAbort {
            throw error
        } catch {
            // IO_UNIT: a write that fails leaves the file's size as it was (ffs_write).
            if vnode.size > oldSize { try await obj.setSize(oldSize) }
            try await vnode.lock.exit()
            throw Errno(error)
        }
        try await vnode.lock.exit()
        return length
    }

    /// read(2) at `offset` into user memory at `to`; stops at end of file. Returns bytes read.
    /// An offset that is a negative off_t fails pread's VOP_SEEK (genfs_seek; LTP pread02) and a
    /// length past SSIZE_MAX dofileread's check: both EINVAL, before any I/O.
    @discardableResult
    public func read(_ lwp: LWP, file name: String, offset: UInt64, to: UInt64, length: UInt64) async throws -> UInt64 {
        // The image the call started in (see mincore): the copy-out goes there.
        let map = try liveProc(lwp).map
        let vnode = try file(name)
        guard offset <= Self.maxFileSize, length <= Self.maxTransfer else { throw Errno.EINVAL }
        let obj = uvm.vnodeObject(vnode)
        // The copy-out faults at the first hole in the buffer (EFAULT): no more than the mapped
        // part of it is worth reading from the file.
        let mapped = mappedLength(map, to, length)
        var bytes: [UInt8] = []
        try await withVnodeLock(vnode) {
            let end = min(offset &+ min(length, mapped), vnode.size)
            var at = offset
            while at < end {
                let inPage = Int(at & pageMask)
                let n = Int(min(UInt64(pageSize - inPage), end - at))
                guard let pg = try await obj.residentPageLocked(at >> UInt64(uvm.pageShift)) else { break }
                bytes.append(contentsOf: pg.read(inPage, n))
                try await obj.lock.exit()
                at += UInt64(n)
            }
        }
        try await copyout(map, to, bytes)
        // Short of the end of file, the copy-out reached the hole.
        if mapped < length, case (let stop, false) = offset.addingReportingOverflow(mapped), stop < vnode.size {
            throw Errno.EFAULT
        }
        return UInt64(bytes.count)
    }

    /// How many bytes from `va` (at most `length`) are mapped without a hole.
    private func mappedLength(_ map: VMMap, _ va: UInt64, _ length: UInt64) -> UInt64 {
        let (end, overflow) = va.addingReportingOverflow(length)
        let limit = overflow ? UInt64.max : end
        var at = va
        while at < limit, let e = map.lookup(at) { at = e.end }
        return min(at, limit) - va
    }

    /// ftruncate(2): shrink (pages past the end leave the page cache and every mapping) or grow.
    public func truncate(_ lwp: LWP, file name: String, size: UInt64) async throws {
        _ = try liveProc(lwp)
        let vnode = try file(name)
        guard size <= Self.maxFileSize else { throw Errno.EINVAL }  // a negative off_t
        let obj = uvm.vnodeObject(vnode)
        try await withVnodeLock(vnode) { try await obj.setSize(size) }
    }

    /// fsync(2): writes the file's dirty pages back.
    public func fsync(_ lwp: LWP, file name: String) async throws {
        _ = try liveProc(lwp)
        let vnode = try file(name)
        guard let obj = uvm.existingVnodeObject(vnode) else { return }
        try await withVnodeLock(vnode) { try await obj.flush() }
    }

    /// Runs `body` with the vnode locked, releasing it whatever happens; pager failures become
    /// their errno.
    func withVnodeLock<T>(_ vnode: Vnode, _ body: () async throws -> T) async throws -> T {
        do {
            return try await vnode.withLock(body)
        } catch let abort as SimAbort {
            throw abort
        } catch {
            throw Errno(error)
        }
    }
}
