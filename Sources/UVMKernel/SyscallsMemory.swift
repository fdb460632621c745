// The memory system calls: mmap family, mincore, and user loads and stores (uvm_mmap.c).
//
// Locking: each call takes its process's map lock (write for changes, read for queries) and
// drops it before returning; user accesses go through the MMU and fault like the hardware.
// Errno values follow NetBSD (see README, "Where we differ").

import UVMCore
import UVMMachine
import UVMSched

/// What an mmap maps.
public enum MmapBacking: Sendable {
    case anon
    case file(String)
    case device(String)
}

/// The flags of mmap(2) besides MAP_SHARED and MAP_FIXED.
public struct MmapFlags: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// MAP_PRIVATE as well as MAP_SHARED, which sys_mmap refuses (EINVAL).
    public static let alsoPrivate = MmapFlags(rawValue: 1 << 0)
    /// MAP_ANON given a file descriptor, which sys_mmap refuses (EINVAL).
    public static let anonWithDescriptor = MmapFlags(rawValue: 1 << 1)
    /// MAP_WIRED: wired at once, as under MCL_FUTURE (uvm_mmap).
    public static let wired = MmapFlags(rawValue: 1 << 2)
}

/// The first byte of a range that differs from what `check` expected.
public struct Mismatch: Error, Sendable, Equatable {
    public let offset: UInt64
    public let value: UInt8
}

extension Kernel {
    var pageMask: UInt64 { UInt64(pageSize - 1) }
    func roundPage(_ v: UInt64) -> UInt64? {
        let (s, o) = v.addingReportingOverflow(pageMask)
        return o ? nil : s & ~pageMask
    }

    /// NetBSD's round_and_check: the address rounded down to its page, the length grown to
    /// match and rounded up; nil if the result leaves the user address space or wraps.
    func roundAndCheck(_ addr: UInt64, _ len: UInt64) -> (lo: UInt64, hi: UInt64)? {
        let lo = addr & ~pageMask
        guard let size = roundPage(len &+ (addr & pageMask)), size >= len,
              case let (hi, false) = lo.addingReportingOverflow(size),
              lo >= userMinAddress, hi <= userMaxAddress else { return nil }
        return (lo, hi)
    }

    /// roundAndCheck, or `error` when the range is bad.
    func userRange(_ addr: UInt64, _ len: UInt64, else error: Errno = .EINVAL) throws -> (lo: UInt64, hi: UInt64) {
        guard let r = roundAndCheck(addr, len) else { throw error }
        return r
    }

    // MARK: mmap family

    /// mmap(2). `offset` may be unaligned: the mapping starts at its page and the returned
    /// address points at the byte asked for (NetBSD's pageoff handling).
    /// `opened` is the access a file's descriptor was opened with.
    public func mmap(_ lwp: LWP, _ backing: MmapBacking, length: UInt64, offset: UInt64 = 0,
                     prot: VMProt, maxProt: VMProt, shared: Bool, fixed: UInt64?,
                     flags: MmapFlags = [], opened: VMProt = [.read, .write]) async throws -> UInt64 {
        let p = try liveProc(lwp)
        // sys_mmap refuses these before it looks at anything else.
        if shared && flags.contains(.alsoPrivate) { throw Errno.EINVAL }
        if case .anon = backing, flags.contains(.anonWithDescriptor) { throw Errno.EINVAL }
        if length == 0 {
            // A zero-length anonymous mapping maps nothing and succeeds: uvm_mmap returns early,
            // after sys_mmap has checked a MAP_FIXED address as for any length, and the caller
            // gets the address it would have mapped at (the default one without MAP_FIXED).
            guard case .anon = backing else { throw Errno.EINVAL }
            guard let fixed else { return mmapBase }
            return try fixedStart(fixed, pageOff: 0, size: 0)
        }
        guard maxProt.isSuperset(of: prot) else { throw Errno.EACCES }
        var maxProt = maxProt
        if case .file = backing {
            // vn_mmap: reading needs a descriptor open for reading; writing through a shared
            // mapping one open for writing, and the mapping's maximum protection says so, so a
            // later mprotect cannot add it. A private mapping may always be written.
            let writable = !shared || opened.contains(.write)
            guard opened.contains(.read) || !prot.contains(.read), writable || !prot.contains(.write) else {
                throw Errno.EACCES
            }
            if !opened.contains(.read) { maxProt.remove(.read) }
            if !writable { maxProt.remove(.write) }
        }
        let pageOff = offset & pageMask
        guard let size = roundPage(length &+ pageOff), size >= length else { throw Errno.ENOMEM }
        // The object range must be a valid off_t range. vn_mmap: a negative offset is EINVAL,
        // one whose end passes OFF_T_MAX EOVERFLOW ("no offset wrapping"); udv_attach refuses a
        // negative device offset (EINVAL), and the device's pages end before any wrap.
        switch backing {
        case .anon:
            break
        case .file:
            guard offset <= UInt64(Int64.max) else { throw Errno.EINVAL }
            guard case (let end, false) = (offset - pageOff).addingReportingOverflow(size), end <= UInt64(Int64.max)
            else { throw Errno.EOVERFLOW }
        case .device:
            guard offset <= UInt64(Int64.max), case (_, false) = (offset - pageOff).addingReportingOverflow(size)
            else { throw Errno.EINVAL }
        }
        var addr: UInt64? = nil
        if let fixed { addr = try fixedStart(fixed, pageOff: pageOff, size: size) }
        let object: UVMObject?
        switch backing {
        case .anon:
            object = nil
        case .file(let name):
            let vnode = try file(name)
            let o = uvm.vnodeObject(vnode)
            o.reference()
            object = o
        case .device(let name):
            guard let o = deviceObjects[name] else { throw Errno.ENOENT }
            o.reference()
            object = o
        }
        let map = p.map
        try await map.lockWrite()
        if let start = addr {
            // MAP_FIXED replaces whatever was there, once the I/O in flight on it has drained.
            try await map.waitForSystemWirings(start, start + size)
        }
        // Looked at after that wait, which sleeps without the map lock: an image that exit or
        // exec discarded meanwhile must not get a mapping (nor a wiring) nobody will remove.
        if map.dead {
            try await map.lock.exit()
            try await object?.detach()
            throw Errno.ESRCH
        }
        if let start = addr {
            try await map.remove(start, start + size)
        } else {
            addr = map.findSpace(length: size, hint: mmapBase)
        }
        guard let start = addr else {
            try await map.lock.exit()
            try await object?.detach()
            throw Errno.ENOMEM
        }
        let copyOnWrite = !shared && !(object?.hasFictitiousPages ?? false)
        let entry = map.insert(start: start, length: size, object: object, offset: offset - pageOff,
                               protection: prot, maxProtection: maxProt,
                               inheritance: shared ? .share : .copy, copyOnWrite: copyOnWrite)
        if object == nil && shared {
            // Shared anonymous memory gets its amap at once (UVM_FLAG_OVERLAY), so every
            // sharer sees the same anons; one too large for kernel memory is ENOMEM (uvm_map).
            do {
                try await uvm.amapCopy(entry, in: map)
            } catch PagerError.noMemory {
                try await map.remove(start, start + size)
                try await map.lock.exit()
                throw Errno.ENOMEM
            }
        }
        if (map.wireFuture || flags.contains(.wired)) && !prot.isEmpty {
            // MCL_FUTURE or MAP_WIRED: the new mapping is wired now; if it cannot be, it is removed. Past a
            // limit that is ENOMEM; a failed wiring fault's own error is returned as
            // uvm_map_pageable gives it (uvm_mmap).
            let pages = Int(size >> UInt64(uvm.pageShift))
            guard reserveWiring(p, map, pages: pages) else {
                try await map.remove(start, start + size)
                try await map.lock.exit()
                throw Errno.ENOMEM
            }
            do {
                try await wireUser(map, start, start + size, reserved: pages, limit: .ENOMEM)
            } catch let error as Errno {
                try await map.lockWrite()
                try await map.waitForSystemWirings(start, start + size)
                try await map.remove(start, start + size)
                try await map.lock.exit()
                throw error
            }
            return start + pageOff
        }
        try await map.lock.exit()
        return start + pageOff
    }

    /// sys_mmap's MAP_FIXED checks: the address must have the file offset's remainder within
    /// its page (EINVAL), and range_test refuses a mapping below the map (EINVAL), past its end
    /// (EFBIG) or wrapping (EOVERFLOW). Returns where the mapping starts.
    private func fixedStart(_ fixed: UInt64, pageOff: UInt64, size: UInt64) throws -> UInt64 {
        guard fixed & pageMask == pageOff else { throw Errno.EINVAL }
        let start = fixed - pageOff
        guard case let (end, false) = start.addingReportingOverflow(size) else { throw Errno.EOVERFLOW }
        guard start >= userMinAddress else { throw Errno.EINVAL }
        guard end <= userMaxAddress else { throw Errno.EFBIG }
        return start
    }

    /// munmap(2). A zero length, or a range with nothing mapped, succeeds once the range is in
    /// the address space (round_and_check comes first).
    public func munmap(_ lwp: LWP, _ addr: UInt64, _ len: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len)
        if len == 0 { return }
        let map = p.map
        try await map.lockWrite()
        try await map.waitForSystemWirings(lo, hi)
        try await map.remove(lo, hi)
        try await map.lock.exit()
    }

    /// mprotect(2): the new protection must be within each entry's maximum (EACCES), checked
    /// before anything changes. Holes in the range are skipped, as uvm_map_protect does.
    public func mprotect(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, _ prot: VMProt) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len)
        let map = p.map
        try await map.lockWrite()
        guard map.entries(in: lo, hi).allSatisfy({ $0.maxProtection.isSuperset(of: prot) }) else {
            try await map.lock.exit()
            throw Errno.EACCES
        }
        var becameAccessible: [(UInt64, UInt64)] = []
        for e in map.clip(lo, hi) {
            if map.wireFuture && e.protection.isEmpty && !prot.isEmpty { becameAccessible.append((e.start, e.end)) }
            map.setProtection(e, prot)
        }
        if let last = map.entries(in: lo, hi).last { mergeAround(map, last) }
        try await map.lock.exit()
        // MCL_FUTURE wires a mapping once it becomes accessible (uvm_map_protect). A wiring
        // that fails, whatever its cause, is reported as ENOMEM (uvm_map_protect calls every
        // failure a resource shortage), after the other entries are tried and the protection
        // is left as set.
        var wiringFailed = false
        for (s, t) in becameAccessible {
            try await map.lockWrite()
            guard map.wireFuture else {
                try await map.lock.exit()
                break
            }
            let pages = unwiredPages(map, s, t)
            guard reserveWiring(p, map, pages: pages) else {
                try await map.lock.exit()
                wiringFailed = true
                continue
            }
            do {
                try await wireUser(map, s, t, reserved: pages, limit: .ENOMEM)
            } catch is Errno {
                wiringFailed = true
            }
        }
        if wiringFailed { throw Errno.ENOMEM }
    }

    /// minherit(2) with its MAP_INHERIT_* value; holes in the range are skipped. A value
    /// uvm_map_inherit does not know is EINVAL, after the range is checked (sys_minherit).
    /// Returns the inheritance set.
    @discardableResult
    public func minherit(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, mapInherit: UInt64) async throws -> Inheritance {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len)
        guard let inh = Inheritance(mapInherit: mapInherit) else { throw Errno.EINVAL }
        let map = p.map
        try await map.lockWrite()
        for e in map.clip(lo, hi) { map.setInheritance(e, inh) }
        if let last = map.entries(in: lo, hi).last { mergeAround(map, last) }
        try await map.lock.exit()
        return inh
    }

    private func mergeAround(_ map: VMMap, _ e: MapEntry) {
        var cur: MapEntry? = e
        while let c = cur {
            let prev = map.entries.previous(before: c)
            map.tryMergeWithPrevious(c)
            cur = prev
            if let prev, prev.end < c.start { break }
        }
    }

    /// madvise(2): `dontneed` deactivates the range's pages (their data stays); `free` throws
    /// away the anonymous pages nobody else shares (they read as zeros next time) and writes
    /// back and frees the object's, shared or private mapping alike; `willneed` reads the
    /// object's pages into the page cache, a read-ahead window of each entry that has no amap.
    /// Like NetBSD's uvm_map_clean these never split entries; `dontneed` and `free` need the
    /// whole range mapped (EFAULT), and `free` refuses wired memory (EBUSY).
    /// The advice is the MADV_* value: one sys_madvise does not know is EINVAL once the range is
    /// checked, and the read-ahead hints change nothing that can be seen.
    public func madvise(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, behav: UInt64) async throws {
        let p = try liveProc(lwp)
        let (lo, hi) = try userRange(addr, len)
        guard let advice = Advice(madvise: behav) else { throw Errno.EINVAL }
        let map = p.map
        try await map.lock.enter(.reader)
        if advice == .dontneed || advice == .free, !map.isFullyMapped(lo, hi) {
            try await map.lock.exit()
            throw Errno.EFAULT
        }
        if advice == .free, map.entries(in: lo, hi).contains(where: \.isWired) {
            try await map.lock.exit()
            throw Errno.EBUSY
        }
        // File pages are handled after the map lock is dropped: the vnode lock comes first.
        var files: [(UVMObject, Range<UInt64>)] = []
        let shift = UInt64(uvm.pageShift)
        for e in map.entries(in: lo, hi) {
            let s = max(lo, e.start), t = min(hi, e.end)
            let objectPages = e.objectPage(s, uvm.pageShift)..<(e.objectPage(t - 1, uvm.pageShift) + 1)
            switch advice {
            case .free:
                try await uvm.freeAnons(map, e, s, t)
                // uvm_map_clean puts every entry's object with PGO_CLEANIT|PGO_FREE, a private
                // mapping's file too: its pages are written back and leave the page cache.
                if let obj = e.object, obj.hasBackingStore {
                    obj.reference()
                    files.append((obj, objectPages))
                }
            case .dontneed:
                map.pmap.remove(vpns: (s >> shift)..<(t >> shift))
                for pg in uvm.residentPages(e, s, t) where pg.wireCount == 0 && pg.queue == .active { pg.queue = .inactive }
            case .hint:
                break
            case .willneed:
                // uvm_map_willneed asks uvm_readahead for the entry's range, which reads at most
                // RA_WINSIZE_MAX (8 MAXPHYS) of it: the advice costs a window, not the range.
                // It prefetches only for an entry with no amap: once a private mapping has
                // copied a page, its file is not read ahead.
                if let obj = e.object, obj.hasBackingStore, e.amap == nil {
                    obj.reference()
                    files.append((obj, objectPages.lowerBound..<min(objectPages.upperBound, objectPages.lowerBound + readAheadPages)))
                }
            }
        }
        try await map.lock.exit()
        // Every object referenced above is detached again, whatever happens to the advice: a
        // flush that fails (EIO) stops the advice, not the references' release.
        var failure: Errno?
        for (obj, pages) in files {
            do {
                if failure == nil { try await apply(advice, to: obj, pages) }
            } catch let abort as SimAbort {
                throw abort
            } catch {
                failure = Errno(error)
            }
            try await obj.detach()
        }
        if let failure { throw failure }
    }

    /// MADV_FREE's file part (uvm_map_clean with PGO_FREE: written back, then freed), or
    /// MADV_WILLNEED's read-ahead, whose read errors are ignored as uvm_readahead ignores them.
    private func apply(_ advice: Advice, to obj: UVMObject, _ pages: Range<UInt64>) async throws {
        if advice == .free {
            try await obj.put(pages: pages, invalidate: true)
            return
        }
        for idx in pages where obj.contains(idx) {
            try await obj.lock.enter()
            let missing = { if case .needIO = obj.lookup(idx) { return true }; return false }()
            try await obj.lock.exit()
            // A read error comes back as the page-in's result, and the hint ignores it.
            if missing { _ = try await obj.pageIn(idx) }
        }
    }

    /// uvm_readahead's largest window, RA_WINSIZE_MAX (8 MAXPHYS of 64K), in pages.
    private var readAheadPages: UInt64 { max(1, (8 << 16) >> UInt64(uvm.pageShift)) }

    /// msync(2): writes back the dirty file pages of the range; `invalidate` then drops the
    /// clean ones from the page cache. A bad range is ENOMEM, a hole EFAULT (uvm_map_clean),
    /// and a zero length means the whole entry containing `addr`. `flags` are the MS_* bits:
    /// none of them, an unknown one, or MS_SYNC with MS_ASYNC is EINVAL before the range is
    /// looked at (sys___msync13).
    public func msync(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, flags: UInt64) async throws {
        let async: UInt64 = 1, invalidateBit: UInt64 = 2, sync: UInt64 = 4
        guard flags & ~(async | invalidateBit | sync) == 0, flags != 0, flags & (async | sync) != async | sync else {
            throw Errno.EINVAL
        }
        let invalidate = flags & invalidateBit != 0
        let p = try liveProc(lwp)
        var (lo, hi) = try userRange(addr, len, else: .ENOMEM)
        let map = p.map
        try await map.lock.enter(.reader)
        if len == 0 {
            guard let e = map.lookup(lo) else {
                try await map.lock.exit()
                throw Errno.EINVAL
            }
            (lo, hi) = (e.start, e.end)
        }
        guard map.isFullyMapped(lo, hi) else {
            try await map.lock.exit()
            throw Errno.EFAULT
        }
        if invalidate, map.entries(in: lo, hi).contains(where: \.isWired) {
            // Invalidating wired pages would take them from their wiring (uvm_map_clean).
            try await map.lock.exit()
            throw Errno.EBUSY
        }
        var work: [(UVMObject, Range<UInt64>)] = []
        for e in map.entries(in: lo, hi) {
            guard let obj = e.object, obj.hasBackingStore else { continue }
            let s = max(lo, e.start), t = min(hi, e.end)
            work.append((obj, e.objectPage(s, uvm.pageShift)..<(e.objectPage(t - 1, uvm.pageShift) + 1)))
            obj.reference()
        }
        try await map.lock.exit()
        // The vnode lock comes before the object lock; the map lock is no longer held.
        var failure: Errno?
        for (obj, pages) in work {
            do {
                try await obj.put(pages: pages, invalidate: invalidate)
            } catch let abort as SimAbort {
                throw abort
            } catch {
                failure = failure ?? Errno(error)
            }
            try await obj.detach()
        }
        if let failure { throw failure }
    }

    /// mincore(2): one flag per page, true if resident (in the amap or the object, whether or
    /// not this process has touched it). The address must be aligned and the length non-zero
    /// (EINVAL); a hole is ENOMEM.
    /// With a `vector`, the answer is also copied out there, one byte per page: the vector is
    /// vslocked for writing before the range is looked at, so one the process cannot write is
    /// EFAULT (sys_mincore).
    public func mincore(_ lwp: LWP, _ addr: UInt64, _ len: UInt64, vector: UInt64? = nil) async throws -> [Bool] {
        let p = try liveProc(lwp)
        // The image the call started in, even if another thread's exec replaces it while the
        // call sleeps: NetBSD's exec waits for the other LWPs to leave the kernel (exit_lwps).
        let map = p.map
        let hi = try mincoreEnd(addr, len)
        guard let vector else { return try await residency(map, addr, hi) }
        let hold = try await vslock(lwp, vector, (hi - addr) >> UInt64(uvm.pageShift), access: [.write])
        do {
            let result = try await residency(map, addr, hi)
            try await copyout(map, vector, result.map { $0 ? 1 : 0 })
            try await uvm.vsunlock(hold)
            return result
        } catch {
            try await uvm.vsunlock(hold)
            throw error
        }
    }

    /// The end of the range mincore(2) answers for: sys_mincore refuses an unaligned start, a
    /// zero length or a wrap (EINVAL); the range is not tested against the address space, so
    /// anything not mapped is ENOMEM later.
    public func mincoreEnd(_ addr: UInt64, _ len: UInt64) throws -> UInt64 {
        guard addr & pageMask == 0, len > 0, let size = roundPage(len),
              case (let hi, false) = addr.addingReportingOverflow(size) else { throw Errno.EINVAL }
        return hi
    }

    /// Whether each page of [lo, hi) is resident; ENOMEM if any of it is not mapped.
    private func residency(_ map: VMMap, _ lo: UInt64, _ hi: UInt64) async throws -> [Bool] {
        try await map.lock.enter(.reader)
        guard map.isFullyMapped(lo, hi) else {
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        var result: [Bool] = []
        for e in map.entries(in: lo, hi) {
            for va in stride(from: max(lo, e.start), to: min(hi, e.end), by: pageSize) { result.append(uvm.isResident(e, va: va)) }
        }
        try await map.lock.exit()
        return result
    }

    // MARK: User memory

    /// A load by the thread: the byte, or the signal it raises.
    public func load(_ lwp: LWP, _ va: UInt64) async throws -> UInt8 {
        let p = try liveProc(lwp)
        switch try await uvm.translate(p.map, va: va, access: .read) {
        case .success(let pg): return pg.read(Int(va & pageMask))
        case .failure(let f): throw signal(f.result)
        }
    }

    /// A store by the thread.
    public func store(_ lwp: LWP, _ va: UInt64, _ byte: UInt8) async throws {
        let p = try liveProc(lwp)
        switch try await uvm.translate(p.map, va: va, access: .write) {
        case .success(let pg): pg.write(Int(va & pageMask), byte, pageSize: pageSize)
        case .failure(let f): throw signal(f.result)
        }
    }

    /// Stores `byte` in every byte of the range, a page at a time.
    public func fill(_ lwp: LWP, _ va: UInt64, _ len: UInt64, _ byte: UInt8) async throws {
        let p = try liveProc(lwp)
        try await forEachPage(p.map, va, len, access: .write, onFault: { throw signal($0) }) { pg, off, n in
            pg.fill(off, n, byte, pageSize: pageSize)
        }
    }

    /// The first byte of the range that is not `byte`, or nil if all are.
    public func check(_ lwp: LWP, _ va: UInt64, _ len: UInt64, _ byte: UInt8) async throws -> Mismatch? {
        let p = try liveProc(lwp)
        var mismatch: Mismatch?
        var done: UInt64 = 0
        try await forEachPage(p.map, va, len, access: .read, onFault: { throw signal($0) }) { pg, off, n in
            guard mismatch == nil else { return }
            if let i = pg.firstByte(in: off..<(off + n), notEqualTo: byte) {
                mismatch = Mismatch(offset: done + UInt64(i - off), value: pg.read(i))
                return
            }
            done += UInt64(n)
        }
        return mismatch
    }

    /// copyin: user bytes into the kernel; an unmapped or protected address is EFAULT.
    func copyin(_ map: VMMap, _ va: UInt64, _ len: UInt64) async throws -> [UInt8] {
        var out: [UInt8] = []
        try await forEachPage(map, va, len, access: .read, onFault: { _ in throw Errno.EFAULT }) { pg, off, n in
            out.append(contentsOf: pg.read(off, n))
        }
        return out
    }

    /// copyout: kernel bytes into user memory; EFAULT as copyin.
    func copyout(_ map: VMMap, _ va: UInt64, _ bytes: [UInt8]) async throws {
        var at = 0
        try await forEachPage(map, va, UInt64(bytes.count), access: .write, onFault: { _ in throw Errno.EFAULT }) { pg, off, n in
            pg.write(off, bytes[at..<(at + n)], pageSize: pageSize)
            at += n
        }
    }

    /// Runs `body(page, offsetInPage, count)` over [va, va+len), translating each page as the
    /// MMU would (faulting it in). `onFault` turns a failed translation into the error to throw.
    func forEachPage(_ map: VMMap, _ va: UInt64, _ len: UInt64, access: VMProt,
                     onFault: (FaultResult) throws -> Never,
                     _ body: (VMPage, Int, Int) throws -> Void) async throws {
        guard case (_, false) = va.addingReportingOverflow(len) else { try onFault(.sigsegv) }
        var at = va
        let end = va + len
        while at < end {
            let off = Int(at & pageMask)
            let n = Int(min(UInt64(pageSize - off), end - at))
            switch try await uvm.translate(map, va: at, access: access) {
            case .success(let pg): try body(pg, off, n)
            case .failure(let f): try onFault(f.result)
            }
            at += UInt64(n)
        }
    }

    func signal(_ r: FaultResult) -> Signal {
        switch r {
        case .sigbus: return .SIGBUS
        case .sigkill: return .SIGKILL
        case .sigsegv, .ok, .wiredLimit: return .SIGSEGV
        }
    }
}
