// The file system calls: read(2), write(2), ftruncate(2), fsync(2) — coherent with mappings
// because they go through the same page cache (the vnode's UVM object, as NetBSD's UBC).
//
// Locking: each holds the file's vnode lock for its whole duration and takes the object lock
// per page. Copies to and from user memory happen with no object lock held and may fault; a
// fault on a mapping of the very file this thread holds locked reads it under the lock it
// already holds (BUGS.md rule 6, W13).

import UVMCore
import UVMMachine
import UVMSched

extension Kernel {
    /// write(2) at `offset`: copies `length` bytes in from user memory at `from`, extending the
    /// file if needed. Returns the bytes written.
    @discardableResult
    public func write(_ lwp: LWP, file name: String, offset: UInt64, from: UInt64, length: UInt64) async throws -> UInt64 {
        let p = try liveProc(lwp)
        let vnode = try file(name)
        guard case (let end, false) = offset.addingReportingOverflow(length) else { throw Errno.EINVAL }
        let obj = uvm.vnodeObject(vnode)
        try await vnode.lock.enter(.writer)
        let oldSize = vnode.size
        do {
            if end > vnode.size { try await obj.setSize(end) }
            var at = offset
            while at < end {
                let inPage = Int(at & pageMask)
                let n = Int(min(UInt64(pageSize - inPage), end - at))
                // Copy in first, holding no object lock: the copy may fault on this file.
                let bytes = try await copyin(p.map, from + (at - offset), UInt64(n))
                guard let pg = try await obj.residentPageLocked(at >> UInt64(uvm.pageShift)) else {
                    throw Errno.EIO
                }
                pg.write(inPage, bytes[...], pageSize: pageSize)
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
    @discardableResult
    public func read(_ lwp: LWP, file name: String, offset: UInt64, to: UInt64, length: UInt64) async throws -> UInt64 {
        let p = try liveProc(lwp)
        let vnode = try file(name)
        let obj = uvm.vnodeObject(vnode)
        try await vnode.lock.enter(.writer)
        var done: UInt64 = 0
        do {
            let end = min(offset &+ length, vnode.size)
            var at = offset
            while at < end {
                let inPage = Int(at & pageMask)
                let n = Int(min(UInt64(pageSize - inPage), end - at))
                guard let pg = try await obj.residentPageLocked(at >> UInt64(uvm.pageShift)) else { break }
                let bytes = Array(pg.read(inPage, n))
                try await obj.lock.exit()
                try await copyout(p.map, to + (at - offset), bytes)
                at += UInt64(n)
                done += UInt64(n)
            }
        } catch let error as SimAbort {
            throw error
        } catch {
            try await vnode.lock.exit()
            throw Errno(error)
        }
        try await vnode.lock.exit()
        return done
    }

    /// ftruncate(2): shrink (pages past the end leave the page cache and every mapping) or grow.
    public func truncate(_ lwp: LWP, file name: String, size: UInt64) async throws {
        let vnode = try file(name)
        guard size <= UInt64(Int64.max) else { throw Errno.EINVAL }
        let obj = uvm.vnodeObject(vnode)
        try await withVnodeLock(vnode) { try await obj.setSize(size) }
    }

    /// fsync(2): writes the file's dirty pages back.
    public func fsync(_ lwp: LWP, file name: String) async throws {
        let vnode = try file(name)
        guard let obj = uvm.existingVnodeObject(vnode) else { return }
        try await withVnodeLock(vnode) { try await obj.flush() }
    }

    /// Runs `body` with the vnode locked, releasing it whatever happens; pager failures become
    /// their errno.
    func withVnodeLock<T>(_ vnode: Vnode, _ body: () async throws -> T) async throws -> T {
        try await vnode.lock.enter(.writer)
        let result: T
        do {
            result = try await body()
        } catch let e as SimAbort {
            throw e
        } catch {
            try await vnode.lock.exit()
            throw Errno(error)
        }
        try await vnode.lock.exit()
        return result
    }
}
