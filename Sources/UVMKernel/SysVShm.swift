// SysV shared memory (sysv_shm.c): segments backed by anonymous objects, attached shared.
//
// SHM_LOCK wires the segment's object itself, a per-segment state (locking a locked segment or
// unlocking an unlocked one changes nothing): no mlock or munlock of an attachment can touch it,
// and it cannot underflow (docs/wiring.md, *User and system wirings*). NetBSD's errnos: a bad or
// removed id is EINVAL (not EIDRM), SHM_LOCK/SHM_UNLOCK need privilege (EPERM), IPC_RMID needs
// the owner's or creator's uid or privilege (ipcperm IPC_M, EPERM), shmdt of an address that does
// not start an attachment is EINVAL.
//
// Locking: NetBSD runs all of shmctl1 under shm_lock, so a segment removed while a SHM_LOCK waits
// is simply not found. Here the object lock is the interlock: SHM_LOCK/SHM_UNLOCK look at
// `removed` and `locked` and change the pages' wires under it, and so does the destruction of the
// segment. shmat and shmdt change the map and the process's attachments together with the map
// write-locked, so a fork (which holds both maps write-locked) sees both or neither.

import UVMCore
import UVMMachine
import UVMSched

public final class ShmSegment {
    public let id: Int
    public let object: AnonObject
    /// The pages it spans, in bytes.
    public let size: UInt64
    /// shm_segsz: the size shmget was asked for, which a later shmget of its key may not exceed.
    public let requestedSize: UInt64
    /// shm_perm._key; nil for IPC_PRIVATE, and once removed (a removed key is free again).
    public internal(set) var key: UInt64?
    /// The permission bits of shm_perm.mode.
    public let mode: UInt32
    /// shm_perm.uid and shm_perm.cuid (equal: there is no IPC_SET): who may remove it.
    public let ownerUid: UInt32
    /// SHMSEG_WIRED.
    public internal(set) var locked = false
    /// IPC_RMID done: destroyed at the last detach.
    public internal(set) var removed = false
    /// Its destruction has begun (it may still be waiting for the object lock): its own
    /// reference on the object is going away.
    public internal(set) var destroying = false
    public internal(set) var attachments = 0

    init(id: Int, object: AnonObject, size: UInt64, requestedSize: UInt64, key: UInt64?, mode: UInt32, ownerUid: UInt32) {
        self.id = id
        self.object = object
        self.size = size
        self.requestedSize = requestedSize
        self.key = key
        self.mode = mode
        self.ownerUid = ownerUid
    }

    /// ipcperm for IPC_R and IPC_W: privilege passes; the owner is checked against the owner
    /// bits, anyone else against the others' (processes have no groups here).
    func permits(_ uid: UInt32, read: Bool, write: Bool) -> Bool {
        if uid == 0 { return true }
        let shift: UInt32 = uid == ownerUid ? 6 : 0
        let wanted: UInt32 = ((read ? 4 : 0) | (write ? 2 : 0)) << shift
        return mode & wanted == wanted
    }
}

/// What shmctl(IPC_STAT) reports of a segment.
public struct ShmStat: Sendable, Equatable {
    /// shm_segsz.
    public let size: UInt64
    /// shm_nattch.
    public let attachments: Int
    /// The permission bits of shm_perm.mode.
    public let mode: UInt32
    /// SHMSEG_WIRED in shm_perm.mode: SHM_LOCK holds the segment's pages.
    public let locked: Bool
}

extension Kernel {
    /// shminfo.shmmni (param.c's SHMMNI): segments the machine may hold at once, a removed one
    /// still attached included.
    public static let shmMaxSegments = 128

    /// shminfo.shmall, in pages, as shminit sizes it: a quarter of physical memory, at least 1024
    /// pages. shmmax, the largest segment, is as many bytes; a segment's pages are committed, not
    /// allocated, so both may exceed the machine's memory.
    public var shmMaxPages: Int { max(config.pageCount / 4, 1024) }

    func segment(_ id: Int) throws -> ShmSegment {
        guard let s = shmSegments[id], !s.removed else { throw Errno.EINVAL }
        return s
    }

    /// shmget(2): a new segment's id for IPC_PRIVATE (`key` nil); otherwise the segment with
    /// that key, or a new one with `create` (IPC_CREAT). As sys_shmget answers: IPC_CREAT|IPC_EXCL
    /// on a key in use is EEXIST, a missing key without IPC_CREAT ENOENT, a size larger than the
    /// existing segment's EINVAL, and the read and write bits of `mode` asked of an existing
    /// segment are checked as ipcperm does (EACCES). A new segment takes `mode`'s permission bits;
    /// without a mode it is open to everyone (0666), and a lookup asks for nothing. Its limits, in
    /// sys_shmget's order: a size of 0 or past shmmax EINVAL, shmmni segments already ENOSPC, more
    /// pages than shmall in all ENOMEM.
    public func shmget(_ lwp: LWP, size: UInt64, key: UInt64? = nil, create: Bool = true, exclusive: Bool = false,
                       mode: UInt32? = nil) async throws -> Int {
        let p = try liveProc(lwp)
        if let key, let seg = shmSegments.values.first(where: { $0.key == key }) {
            if create && exclusive { throw Errno.EEXIST }
            let asked = mode ?? 0
            guard seg.permits(p.uid, read: asked & 0o400 != 0, write: asked & 0o200 != 0) else { throw Errno.EACCES }
            if size > seg.requestedSize { throw Errno.EINVAL }
            return seg.id
        }
        guard create || key == nil else { throw Errno.ENOENT }
        let (shmMax, overflow) = UInt64(shmMaxPages).multipliedReportingOverflow(by: UInt64(pageSize))
        guard size > 0, overflow || size <= shmMax, let rounded = roundPage(size) else { throw Errno.EINVAL }
        guard shmSegments.count < Self.shmMaxSegments else { throw Errno.ENOSPC }
        let committed = shmSegments.values.reduce(0) { $0 + $1.size } >> UInt64(uvm.pageShift)
        guard committed + rounded >> UInt64(uvm.pageShift) <= UInt64(shmMaxPages) else { throw Errno.ENOMEM }
        nextShmId += 1
        let obj = AnonObject(uvm, name: "shm \(nextShmId)", size: rounded)
        shmSegments[nextShmId] = ShmSegment(id: nextShmId, object: obj, size: rounded, requestedSize: size, key: key,
                                            mode: (mode ?? 0o666) & 0o777, ownerUid: p.uid)
        return nextShmId
    }

    /// shmctl(IPC_STAT): needs read permission (EACCES).
    public func shmStat(_ lwp: LWP, id: Int) throws -> ShmStat {
        let p = try liveProc(lwp)
        let seg = try segment(id)
        guard seg.permits(p.uid, read: true, write: false) else { throw Errno.EACCES }
        return ShmStat(size: seg.requestedSize, attachments: seg.attachments, mode: seg.mode, locked: seg.locked)
    }

    /// shmat: maps the whole segment shared, read-only with `readOnly` (prot = maxprot = r).
    /// MCL_FUTURE does not wire the attachment: NetBSD's sys_shmat (sysv_shm.c) wires only for
    /// shm_use_phys or an SHM_LOCKed segment, whose object is wired already here.
    /// The segment's mode must allow the access to the caller (ipcperm, EACCES).
    public func shmat(_ lwp: LWP, id: Int, readOnly: Bool) async throws -> UInt64 {
        let p = try liveProc(lwp)
        let seg = try segment(id)
        guard seg.permits(p.uid, read: true, write: !readOnly) else { throw Errno.EACCES }
        let prot: VMProt = readOnly ? [.read] : [.read, .write]
        let vm = p.vmspace, map = vm.map
        try await map.lockWrite()
        if map.dead {
            try await map.lock.exit()
            throw Errno.ESRCH
        }
        // Removed while we waited for the map: sys_shmat looks the id up under shm_lock, where
        // IPC_RMID cannot slip in between, so it would have found no segment (EINVAL).
        if seg.removed {
            try await map.lock.exit()
            throw Errno.EINVAL
        }
        // sys_shmat counts the process's attachments after the permission check.
        if vm.shmAttachments.count >= config.shmSeg {
            try await map.lock.exit()
            throw Errno.EMFILE
        }
        guard let start = map.findSpace(length: seg.size, hint: mmapBase) else {
            try await map.lock.exit()
            throw Errno.ENOMEM
        }
        seg.object.reference()
        map.insert(start: start, length: seg.size, object: seg.object, offset: 0, protection: prot,
                   maxProtection: prot, inheritance: .share, copyOnWrite: false)
        seg.attachments += 1
        vm.shmAttachments.insert(ShmAttachment(address: start, segment: seg, readOnly: readOnly), at: 0)
        try await map.lock.exit()
        return start
    }

    /// shmdt: `addr` must be where an attachment starts. The attachment and its mapping go
    /// together under the map lock, so a fork sees both or neither.
    public func shmdt(_ lwp: LWP, _ addr: UInt64) async throws {
        let vm = try liveProc(lwp).vmspace, map = vm.map
        try await map.lockWrite()
        // The I/O in flight on the attachment drains first. The wait sleeps without the map
        // lock, so the newest record at `addr` is looked up again after it: another shmdt or an
        // exit may have taken the one we waited for, and an older record there may span more
        // (sys_shmdt finds and unmaps one shmmap entry in a single hold of shm_lock).
        var drained: UInt64 = 0
        var index: Int
        while true {
            guard let i = vm.shmAttachments.firstIndex(where: { $0.address == addr }) else {
                try await map.lock.exit()
                throw Errno.EINVAL
            }
            let size = vm.shmAttachments[i].segment.size
            if size <= drained {
                index = i
                break
            }
            try await map.waitForSystemWirings(addr, addr + size)
            drained = size
        }
        let seg = vm.shmAttachments.remove(at: index).segment
        try await map.remove(addr, addr + seg.size)
        try await map.lock.exit()
        try await dropAttachment(seg)
    }

    /// One attachment fewer; a removed segment goes with its last one.
    func dropAttachment(_ seg: ShmSegment) async throws {
        seg.attachments -= 1
        if seg.removed && seg.attachments == 0 { try await destroy(seg) }
    }

    func destroy(_ seg: ShmSegment) async throws {
        // Once: the last detach, IPC_RMID and the end of the run may each find the segment
        // removed and unattached while an earlier destruction waits for the object lock.
        guard !seg.destroying else { return }
        seg.destroying = true
        // An SHM_UNLOCK may have got the object lock first: look at `locked` under it.
        try await seg.object.lock.enter()
        if seg.locked {
            try uvm.unwireObjectLocked(seg.object, pages: seg.size >> UInt64(uvm.pageShift))
            seg.locked = false
        }
        try await seg.object.lock.exit()
        shmSegments[seg.id] = nil
        try await seg.object.detach()
    }

    public enum ShmCommand: Sendable { case lock, unlock, remove }

    /// shmctl: SHM_LOCK / SHM_UNLOCK (privileged, per segment, idempotent) and IPC_RMID.
    public func shmctl(_ lwp: LWP, id: Int, _ cmd: ShmCommand) async throws {
        let p = try liveProc(lwp)
        let seg = try segment(id)
        switch cmd {
        case .lock, .unlock:
            guard p.uid == 0 else { throw Errno.EPERM }
            try await memlock(seg, lock: cmd == .lock)
            if uvm.policy.wiring == .sharedCount {
                try await sharedCountAttachments(p, seg, lock: cmd == .lock)
            }
        case .remove:
            guard p.uid == 0 || p.uid == seg.ownerUid else { throw Errno.EPERM }
            seg.removed = true
            seg.key = nil
            if seg.attachments == 0 { try await destroy(seg) }
        }
    }

    /// shm_memlock: the segment's state and its pages' wires change in one step, under the object
    /// lock (uvm_obj_wirepages, uvm_obj_unwirepages). What keeps SHM_LOCK from wiring in one go
    /// is dealt with with the lock dropped, then it looks again: pages on swap are read back in,
    /// and missing free pages are reclaimed on this thread, as the fault does, before ENOMEM.
    private func memlock(_ seg: ShmSegment, lock: Bool) async throws {
        let pages = seg.size >> UInt64(uvm.pageShift)
        for _ in 0...uvm.faultRestartBound {
            try await seg.object.lock.enter()
            if seg.removed {
                try await seg.object.lock.exit()
                throw Errno.EINVAL
            }
            var outcome = UVM.ObjectWiring.wired
            if lock && !seg.locked {
                outcome = uvm.wireObjectLocked(seg.object, pages: pages)
                seg.locked = outcome == .wired
            } else if !lock && seg.locked {
                try uvm.unwireObjectLocked(seg.object, pages: pages)
                seg.locked = false
            }
            try await seg.object.lock.exit()
            switch outcome {
            case .wired:
                return
            case .overWiredMax:
                throw Errno.ENOMEM
            case .short(let freePages):
                try await reclaim(freePages)
            case .pageIn(let swapped):
                pageIns: for idx in swapped {
                    switch try await seg.object.pageIn(idx) {
                    case .error(.noMemory):
                        try await reclaim(swapped.count)
                        break pageIns
                    case .error(let error):
                        throw Errno(error)
                    case .done, .restart:
                        continue
                    }
                }
            }
        }
        // Every pass found the pages it had brought in taken again: memory is too contested.
        throw Errno.ENOMEM
    }

    /// Direct reclaim before another pass, as the fault wakes the page daemon and waits; ENOMEM
    /// when nothing at all can be freed.
    private func reclaim(_ pages: Int) async throws {
        if try await uvm.pageDaemon(target: pages) == 0 { throw Errno.ENOMEM }
    }

    /// Historic `wiring=shared-count` (NetBSD's shm_memlock before 2019): SHM_LOCK also wires
    /// the caller's attachments through the map entries' one shared count, and SHM_UNLOCK
    /// unwires them — failing with EIO, the segment still marked locked, when a munlock already
    /// forced the count to zero (docs/catalog.md, W6).
    private func sharedCountAttachments(_ p: Proc, _ seg: ShmSegment, lock: Bool) async throws {
        let vm = p.vmspace
        for addr in Set(vm.shmAttachments.lazy.filter { $0.segment === seg }.map(\.address)).sorted() {
            let map = vm.map
            if lock {
                try await map.lockWrite()
                try await wireUser(map, addr, addr + seg.size, limit: .ENOMEM)
            } else {
                try await map.lockWrite()
                let entries = map.entries(in: addr, addr + seg.size)
                guard entries.allSatisfy(\.isWired) else {
                    // shm_memlock returns EIO before clearing SHMSEG_WIRED.
                    seg.locked = true
                    try await map.lock.exit()
                    throw Errno.EIO
                }
                for e in entries {
                    let (user, delta) = uvm.userWiringChange(e, .munlock)
                    try uvm.changeWiring(e, in: map, user: user, systemDelta: delta)
                }
                try await map.lock.exit()
            }
        }
    }

    /// fork's shmfork, with both maps write-locked: the child gets every attachment record of
    /// the parent, each one more shm_nattch, whether or not the mapping itself was inherited
    /// (minherit none, or munmapped): NetBSD's shmfork shares the whole shmmap list without
    /// looking at the map, so the child's shmdt there succeeds and its exit detaches it.
    func shmFork(_ parent: VMSpace, _ child: VMSpace) {
        sched.assertHeld(parent.map.lock, .writer)
        sched.assertHeld(child.map.lock, .writer)
        child.shmAttachments = parent.shmAttachments
        for a in parent.shmAttachments { a.segment.attachments += 1 }
    }
}
