// The audit: recomputes the kernel's state from scratch and compares it with what the kernel
// keeps (docs/wiring.md, *The audit*). It reads and never writes; the kernel never calls it — the
// runner installs it as the scheduler's per-step hook.
//
// Some bookkeeping is legitimately out of step while a lock is held (an amap reference dropped
// just after its entry left the tree, across the amap lock's acquisition). Such counts are checked
// as bounds at every step and exactly at quiescent points, when no thread holds any lock.

import UVMCore
import UVMKernel
import UVMMachine
import UVMSched

public enum Audit {
    /// Returns the first inconsistency found, as an `invariant` failure.
    /// `cache` remembers, across the steps of one run, the amaps whose slot counts were found
    /// right (`AuditCache`); without one every amap's slots are walked.
    public static func check(_ k: Kernel, quiescent: Bool, cache: AuditCache? = nil) -> KernelFailure? {
        var a = Auditor(k: k, quiescent: quiescent, cache: cache)
        a.run()
        return a.failure
    }

    /// The end-of-run check, after every process exited and the file caches were dropped:
    /// anything still allocated or wired leaked.
    public static func checkEmpty(_ k: Kernel) -> KernelFailure? {
        if let f = check(k, quiescent: true) { return f }
        let mem = k.uvm.mem
        let held = mem.pages.filter { !$0.isFree }
        guard held.isEmpty else {
            return KernelFailure(.leak, "\(held.count) page(s) still allocated after every process exited",
                                 details: held.prefix(8).map { "\($0): owner \($0.owner?.ownerDescription ?? "none"), wire \($0.wireCount), loan \($0.loanCount)" })
        }
        if mem.wiredCount != 0 {
            return KernelFailure(.leak, "\(mem.wiredCount) page(s) still counted wired after every process exited")
        }
        if k.uvm.swap.usedSlots != 0 {
            return KernelFailure(.leak, "\(k.uvm.swap.usedSlots) swap slot(s) still allocated after every process exited")
        }
        return nil
    }
}

/// What the audit of one run found right at earlier steps and need not walk again while it is
/// unchanged: an amap's per-slot counts (ppref and wired entries) against the slot ranges of the
/// entries that map it. The key is everything that check reads — the amap's counts generation
/// and the ranges — so skipping it can hide nothing
/// (`AuditRuleTests.aRememberedAmapIsWalkedAgainWhenItsCountsOrEntriesChange`).
public final class AuditCache {
    struct Verified {
        let generation: Int
        let ranges: [AmapUse.SlotRange]
        /// Checked exactly (at a quiescent point), not only as a bound.
        let exact: Bool
    }
    /// By amap serial: unique within a run, unlike an object's address.
    var amaps: [Int: Verified] = [:]
    /// Amap slots walked so far: what the cache leaves is the cost of the amaps that changed.
    public internal(set) var slotsWalked = 0

    public init() {}
}

private struct Auditor {
    let k: Kernel
    let quiescent: Bool
    let cache: AuditCache?
    /// The amaps mapped by some entry, with the slot ranges that map them (`checkMap`).
    var amapUses: [ObjectIdentifier: AmapUse] = [:]
    /// The objects mapped by some entry, with the number of entries (`checkMap`).
    var objectUses: [ObjectIdentifier: ObjectCount] = [:]
    /// Every anon some mapped amap holds, with the amap slots and the wired entries that see it.
    var anonUses: [ObjectIdentifier: AnonCount] = [:]
    var failure: KernelFailure?
    let shift: Int
    /// Every live address space with its map entries in address order, gathered once: each
    /// rule walks them, and the tree's elements cost an array to gather.
    let spaces: [Space]

    init(k: Kernel, quiescent: Bool, cache: AuditCache?) {
        self.k = k
        self.quiescent = quiescent
        self.cache = cache
        shift = k.uvm.pageShift
        spaces = k.images.map { Space(vm: $0, entries: $0.map.entries.elements) }
    }

    /// The rule running, in `run`'s order: the failure reported is the first rule's that fails,
    /// and within it the least message. A rule walks dictionaries, and Swift seeds each one's
    /// hashing afresh, so two runs of one schedule visit the same keys in different orders; the
    /// least message is the one a replay reports again.
    var rule = 0
    private var failureRank: (rule: Int, message: String)?

    mutating func fail(_ message: String, _ details: [String] = []) {
        fail(KernelFailure(.invariant, message, details: details))
    }

    mutating func fail(_ f: KernelFailure) {
        if let rank = failureRank, rank <= (rule, f.message) { return }
        failureRank = (rule, f.message)
        failure = f
    }

    mutating func run() {
        checkCaptures()
        rule += 1
        checkPages()
        var mappings = PmapMappings(frames: k.uvm.mem.pages.count)
        for space in spaces {
            rule += 1
            checkMap(space.vm, space.entries)
            rule += 1
            checkPmap(space.vm, &mappings)
        }
        rule += 1
        checkPVLists(mappings)
        rule += 1
        checkSharedAmaps()
        rule += 1
        for use in amapUses.values {
            let amap = use.amap
            let anyWired = use.ranges.contains(where: \.wired)
            for (s, anon) in amap.anons.occupied {
                anonUses[ObjectIdentifier(anon), default: AnonCount(anon: anon)].add(
                    wiredEntries: anyWired ? Int(use.entriesCovering(s, wired: true)) : 0)
                // uvm_amap.c, amap_add: KASSERT(anon->an_lock == amap->am_lock). amap_copy
                // shares the source's lock for this: one lock guards an anon in every amap.
                if anon.lock !== amap.lock { fail("\(anon.ownerDescription) in amap \(amap.serial) has another lock than the amap's") }
                if quiescent && use.entriesCovering(s) == 0 { fail("amap \(amap.serial) slot \(s) holds \(anon.ownerDescription) that no entry maps") }
            }
            if quiescent ? amap.refs != use.ranges.count : amap.refs < use.ranges.count {
                fail("amap \(amap.serial) has \(amap.refs) references, entries hold \(use.ranges.count)")
            }
            checkSlotCounts(use)
        }
        rule += 1
        for use in anonUses.values {
            let anon = use.anon
            if quiescent ? anon.refs != use.count : anon.refs < use.count {
                fail("\(anon.ownerDescription) has \(anon.refs) references, amaps hold \(use.count)")
            }
            if (anon.page == nil) == (anon.swapSlot == nil) {
                fail("\(anon.ownerDescription) must have exactly one of a page and a swap slot")
            }
            // uvm_anon.c: an_page's uo/uanon names the anon back, and a free page belongs to nobody.
            if let pg = anon.page, pg.isFree || pg.owner !== anon {
                fail("\(anon.ownerDescription) holds \(pg), which is " + (pg.isFree ? "free" : "owned by \(pg.owner?.ownerDescription ?? "nobody")"))
            }
        }
        let objects = reachableObjects
        rule += 1
        checkObjectPages(objects)
        rule += 1
        checkSwapSlots()
        rule += 1
        checkShmAttachments()
        rule += 1
        checkObjectReferences()
        rule += 1
        checkWiring()
        if quiescent {
            rule += 1
            checkWiredReservations(objects)
            rule += 1
            checkFileCaches()
            rule += 1
            for t in k.sched.threads where !t.heldLocks.isEmpty {
                fail("\(t.name) holds \(t.heldLocks.map { $0.lockName }.joined(separator: ", ")) between operations")
            }
            rule += 1
            for pg in k.uvm.mem.pages where pg.isBusy {
                fail("\(pg) is still busy between operations")
            }
        }
    }

    /// An object's reference count (uo_refs) is the map entries that map it plus its segment's
    /// own reference; a call may hold one more for a while (msync, madvise), and an unmap drops
    /// the entry before the reference, so only between operations is the count exact.
    mutating func checkObjectReferences() {
        var holders = objectUses
        for seg in k.shmSegments.values where !seg.destroying {
            holders[ObjectIdentifier(seg.object), default: ObjectCount(object: seg.object)].count += 1
        }
        for (obj, n) in holders.values.lazy.map({ ($0.object, $0.count) }) where quiescent ? obj.refs != n : obj.refs < n {
            fail("\(obj.name) has \(obj.refs) reference(s), its mappings and segment hold \(n)")
        }
    }

    /// A segment's attachment count (shm_nattch) is the attachments the live images record (a
    /// munmap of an attachment leaves the record, as NetBSD's shmmap state does, until shmdt,
    /// exec or exit); a removed segment nobody attaches is gone. A detach drops its record before
    /// its count, so only between operations is the count exact. No address space holds more
    /// attachments than shminfo.shmseg at any step: sys_shmat refuses the next with EMFILE, and
    /// fork copies a parent's attachments, never adds to them (sysv_shm.c, shmfork).
    mutating func checkShmAttachments() {
        var recorded: [Int: Int] = [:]
        for vm in k.images {
            for a in vm.shmAttachments { recorded[a.segment.id, default: 0] += 1 }
            // sys_shmat maps an SHM_RDONLY attachment with maximum protection read, so no
            // mprotect can make it writable (and fork copies the entry as it is). A munmapped
            // attachment keeps its record, and a writable one of the same segment may since
            // have landed at its address: that one's entry may be writable.
            for a in vm.shmAttachments where a.readOnly && !vm.shmAttachments.contains(where: {
                !$0.readOnly && $0.segment === a.segment && $0.address == a.address
            }) {
                for e in vm.map.entries(in: a.address, a.address &+ a.segment.size)
                where e.object === a.segment.object && e.maxProtection.contains(.write) {
                    fail("\(vm.name): the read-only attachment of shm segment \(a.segment.id) at \(hex(a.address)) is mapped with maximum protection \(e.maxProtection)")
                }
            }
            if vm.shmAttachments.count > k.config.shmSeg {
                fail("an address space holds \(vm.shmAttachments.count) shm attachments, above shmseg \(k.config.shmSeg)")
            }
        }
        for seg in k.shmSegments.values {
            let n = recorded[seg.id] ?? 0
            if quiescent ? seg.attachments != n : seg.attachments < n {
                fail("shm segment \(seg.id) counts \(seg.attachments) attachment(s), the address spaces hold \(n)")
            }
            if quiescent && seg.removed && seg.attachments == 0 {
                fail("shm segment \(seg.id) was removed and nobody attaches it, yet it is not destroyed")
            }
        }
    }

    /// A page's pv list names exactly the pmap entries that map it: pmap_enter adds the pv
    /// entry of the page it maps and takes off the one of the page it replaces, pmap_remove and
    /// pmap_page_protect take theirs (x86 pmap.c, pmap_enter_ma and pmap_remove_pte). A stale pv
    /// entry makes pmap_page_protect tear down whatever now maps that address, and the page
    /// look mapped to the page daemon. The pmap changes both sides in one step, so this holds
    /// at every step. Virtual page numbers are compared, not pmaps: a stale pv entry may name
    /// the pmap of an address space already gone.
    ///
    /// The two sides are compared as multisets of virtual pages through a count and a sum of
    /// mixed page numbers per frame, so the check allocates nothing per page; the addresses
    /// are gathered only for the message.
    mutating func checkPVLists(_ mappings: PmapMappings) {
        func agrees(_ pg: VMPage, _ mapped: PmapMappings.Tally) -> Bool {
            var listed = PmapMappings.Tally()
            pg.forEachMapping { listed.add($0.vpn) }
            return listed == mapped
        }
        var disagreeing: VMPage?
        for pg in k.uvm.mem.pages where !agrees(pg, mappings.tally(pg)) { disagreeing = pg; break }
        if disagreeing == nil {
            disagreeing = mappings.fictitious.values.first { !agrees($0.page, $0.tally) }?.page
        }
        guard let pg = disagreeing else { return }
        var vpns: [UInt64] = []
        for space in spaces {
            space.vm.map.pmap.forEachEntry { vpn, pte in if pte.page === pg { vpns.append(vpn) } }
        }
        let shift = UInt64(shift)
        let addresses = { (vpns: [UInt64]) in vpns.sorted().map { hex($0 << shift) }.joined(separator: " ") }
        fail("\(pg)'s pv list names \(addresses(pg.pvList.map(\.vpn))), the pmaps map it at \(addresses(vpns))")
    }

    /// An amap that entries of two address spaces map with no copy pending is AMAP_SHARED
    /// (uvm_map.c, uvmspace_fork's MAP_INHERIT_SHARE case: amap_ref with AMAP_SHARED): a later
    /// copy of either entry must then copy the pages at once, for the other still writes them
    /// in place.
    mutating func checkSharedAmaps() {
        for use in amapUses.values where use.inPlaceSpaces > 1 && !use.amap.shared {
            fail("amap \(use.amap.serial) is mapped in place by \(use.inPlaceSpaces) address spaces but is not shared")
        }
    }

    /// Between operations the wired pages granted against wiredmax and not yet wired are those
    /// still owed: the copies a vslock's captured copy-on-write pages may need, and the
    /// placeholders of wired object pages taken away (truncated, or put back to their pager)
    /// that a fault will bring back wired. Every other grant is settled before its call returns
    /// (uvm_map_pageable's, the fault's); one left over lowers wiredmax for good.
    mutating func checkWiredReservations(_ objects: [UVMObject]) {
        let owed = k.uvm.holds.filter { !$0.released }.reduce(0) { $0 + $1.copiesReserved }
            + objects.reduce(0) { $0 + $1.wiredPlaceholders.count }
        if k.uvm.mem.wiredReserved != owed {
            fail("\(k.uvm.mem.wiredReserved) wired page(s) reserved against wiredmax, vslock copies and wired placeholders owe \(owed)")
        }
    }

    /// Between operations a file's page cache agrees with its disk: no page lies wholly past the
    /// end of file (uvm_vnp_setsize removed it; an access there is SIGBUS), and a clean page holds
    /// what its block holds below the end of file — clean means the disk has it, so a page-out
    /// may free it (a write-back that failed must leave the page dirty: genfs_do_io's error path).
    /// Nor does the disk keep data past the end of file: a truncation frees the blocks wholly
    /// past it and zeroes the tail of the last one (ffs_truncate), so a file grown again reads
    /// zeros there.
    mutating func checkFileCaches() {
        let pageSize = UInt64(k.pageSize)
        for vnode in k.files.values {
            let tail = Int(vnode.size % pageSize), eofPage = vnode.size / pageSize + (tail == 0 ? 0 : 1)
            if let stale = vnode.storedBlock(eofPage), stale.contains(where: { $0 != 0 }) {
                fail("file \(vnode.name): the disk keeps block \(eofPage), past the end of file at \(vnode.size)")
                return
            }
            if tail != 0, let last = vnode.storedBlock(eofPage - 1), let i = last[tail...].firstIndex(where: { $0 != 0 }) {
                fail("file \(vnode.name): block \(eofPage - 1) holds \(hex(UInt64(last[i]))) at byte \(i), past the end of file at \(vnode.size)")
                return
            }
        }
        for obj in k.uvm.allVnodeObjects {
            let vnode = obj.vnode, name = vnode.name
            let eofPage = vnode.size / pageSize + (vnode.size % pageSize == 0 ? 0 : 1)
            for (idx, pg) in obj.pages.sorted(by: { $0.key < $1.key }) {
                if idx >= eofPage {
                    fail("file \(name): \(pg) caches offset \(hex(idx * pageSize)), past the end of file at \(vnode.size)")
                    return
                }
                guard !pg.dirty, !pg.isBusy else { continue }
                let valid = Int(min(pageSize, vnode.size - idx * pageSize))
                let disk = vnode.storedBlock(idx)
                let cached = pg.read(0, valid)
                if let i = (0..<valid).first(where: { cached[cached.startIndex + $0] != (disk?[$0] ?? 0) }) {
                    fail("file \(name): clean \(pg) at offset \(hex(idx * pageSize)) holds \(hex(UInt64(cached[cached.startIndex + i]))) at byte \(i), the disk \(hex(UInt64(disk?[i] ?? 0)))",
                         pg.history.suffix(10).map { "history: " + $0 })
                    return
                }
            }
        }
    }

    /// The objects the audit can reach: every vnode's, every segment's, every mapped one.
    var reachableObjects: [UVMObject] {
        var objects = objectUses.values.map(\.object)
        for obj in k.uvm.allVnodeObjects where objectUses[ObjectIdentifier(obj)] == nil { objects.append(obj) }
        for seg in k.shmSegments.values where objectUses[ObjectIdentifier(seg.object)] == nil { objects.append(seg.object) }
        return objects
    }

    /// Each page an object keeps at an offset is allocated and names that object and offset
    /// back (uvm_page.c, uvm_pageinsert/uvm_pageremove keep the two sides together); a page
    /// freed while its object still lists it is a use-after-free waiting to happen. An aobj
    /// offset is resident or on swap, never both (uao_get drops the slot as the page comes in,
    /// uvm_pageout_done's uao_set_swslot records it as the page goes).
    mutating func checkObjectPages(_ objects: [UVMObject]) {
        for obj in objects {
            for (idx, pg) in obj.pages where pg.isFree || pg.owner !== obj || pg.offset != k.uvm.bytes(pages: idx) {
                fail("\(obj.name) keeps \(pg) at offset \(hex(k.uvm.bytes(pages: idx))), but the page is " + (pg.isFree ? "free" : "\(pg.owner?.ownerDescription ?? "nobody")'s at \(hex(pg.offset))"))
                return
            }
            if let idx = obj.swappedOut.keys.first(where: { obj.pages[$0] != nil }) {
                fail("\(obj.name) offset \(hex(k.uvm.bytes(pages: idx))) is both resident and on swap")
                return
            }
        }
    }

    /// Every allocated swap slot belongs to an anon or a shm segment's page; a page-out in
    /// flight holds one more until it completes, so only quiescent points are exact. No slot
    /// has two owners (uvm_swap.c hands a slot to one an_swslot or uao slot until it is freed).
    mutating func checkSwapSlots() {
        /// Who owns a slot, named only if the message needs it.
        enum Owner {
            case anon(Anon)
            case segment(UVMObject)
            var name: String {
                switch self {
                case .anon(let a): a.ownerDescription
                case .segment(let o): o.name
                }
            }
        }
        var owners: [Int: Owner] = [:]
        var owned = 0
        func claim(_ slot: Int, _ owner: Owner) -> Owner? {
            owned += 1
            return owners.updateValue(owner, forKey: slot)
        }
        for use in anonUses.values {
            guard let slot = use.anon.swapSlot else { continue }
            if let first = claim(slot, .anon(use.anon)) {
                fail("swap slot \(slot) belongs to both \(first.name) and \(use.anon.ownerDescription)")
                return
            }
        }
        for seg in k.shmSegments.values {
            for slot in seg.object.swapSlots.values {
                if let first = claim(slot, .segment(seg.object)) {
                    fail("swap slot \(slot) belongs to both \(first.name) and \(seg.object.name)")
                    return
                }
            }
        }
        let used = k.uvm.swap.usedSlots
        if quiescent ? owned != used : owned > used {
            fail("\(used) swap slot(s) allocated, anons and segments own \(owned)")
        }
    }

    /// A vslock's captured page, or a loaned page, that was freed or given to another owner is
    /// a use-after-free at the step it happens, before any DMA reaches it.
    mutating func checkCaptures() {
        for h in k.uvm.holds where !h.released {
            for (pg, gen) in h.pages where pg.isFree || pg.generation != gen {
                if let f = pg.freedSince(gen, taken: "captured", found: "the I/O buffer of a vslock of \(hex(h.start))-\(hex(h.end)) by \(h.thread.name) still points at") {
                    fail(f)
                }
            }
        }
    }

    /// A page's wire count equals the wirings that cover it: the range wirings of wired entries
    /// (through their amaps and objects) and the vslock holds; and each amap slot and object page
    /// counts the wired entries that see it.
    mutating func checkWiring() {
        // Indexed by frame number: every page counted here is a real frame.
        var expected = [Int32](repeating: 0, count: k.uvm.mem.pages.count)
        // The counts of the objects some wiring covers; every other one mapped must count no
        // wiring at all (checked below without building its all-zero counts). The amaps' counts
        // are `checkSlotCounts`'.
        struct ObjectWiring { let object: UVMObject; var counts: [UInt64: Int] = [:] }
        var objectWired: [ObjectIdentifier: ObjectWiring] = [:]
        var unwiredObjects: [UVMObject] = []
        for space in spaces {
            let vm = space.vm
            for e in space.entries {
                guard e.isWired, !e.isDevice else {
                    if let obj = e.object, !e.isDevice { unwiredObjects.append(obj) }
                    continue
                }
                if let obj = e.object, objectWired[ObjectIdentifier(obj)] == nil {
                    objectWired[ObjectIdentifier(obj)] = ObjectWiring(object: obj)
                }
                // Once a wiring has faulted its pages in (the map is no longer busy), every page
                // of the entry stays resident until it is unwired, whoever else wants it. Only
                // truncation may take a file's page away (a regrown file then has a hole there),
                // so a shared file mapping's pages are exempt.
                let settled = vm.map.busyOwner == nil
                var va = e.start
                while va < e.end {
                    let anon = e.amap?.anons[e.amapSlot(for: va, shift)]
                    if anon == nil, let obj = e.object {
                        objectWired[ObjectIdentifier(obj)]!.counts[e.objectPage(va, shift), default: 0] += 1
                    }
                    if let pg = k.uvm.page(backing: e, va: va) {
                        expected[pg.pfn] += 1
                    } else if settled, anon != nil || (e.object.map { !$0.pagesFollowFileSize } ?? false) {
                        fail("\(vm.name): \(hex(va)) is in a wired entry but not resident")
                    }
                    va += UInt64(k.pageSize)
                }
            }
        }
        for seg in k.shmSegments.values {
            guard seg.locked else { unwiredObjects.append(seg.object); continue }
            if objectWired[ObjectIdentifier(seg.object)] == nil { objectWired[ObjectIdentifier(seg.object)] = ObjectWiring(object: seg.object) }
            for idx in 0..<(seg.size >> UInt64(shift)) {
                objectWired[ObjectIdentifier(seg.object)]!.counts[idx, default: 0] += 1
                if let pg = seg.object.pages[idx] { expected[pg.pfn] += 1 }
            }
        }
        for h in k.uvm.holds where !h.released && h.holdsPages {
            for (pg, _) in h.pages where !pg.fictitious { expected[pg.pfn] += 1 }
        }
        for seg in k.shmSegments.values where seg.locked {
            for (idx, pg) in seg.object.pages where pg.wireCount == 0 {
                fail("shm segment \(seg.id) is SHM_LOCKed but its page \(idx) (\(pg)) is pageable")
            }
        }
        for p in k.procs where !p.exited && p.map.wireFuture && !p.futureWiringRequested {
            fail("\(p.name): new mappings are wired (MCL_FUTURE) though this image never asked for it")
        }
        // Historic `unwire=pmap` keeps wires where the wiring fault put them, so they cannot be
        // recomputed from the layers; the counters are still checked.
        guard k.uvm.policy.unwire == .object else { return }
        for pg in k.uvm.mem.pages where pg.wireCount != expected[pg.pfn] {
            fail("\(pg) has wire count \(pg.wireCount), the wirings covering it number \(expected[pg.pfn])",
                 ["owner: \(pg.owner?.ownerDescription ?? "none")" + (pg.released ? " (released)" : "")])
            return
        }
        // An anon counts the wired entries that see it through every amap holding it (the
        // amaps' own counts are `checkSlotCounts`').
        for w in anonUses.values where w.anon.wiredRefs != w.wiredEntries {
            fail("\(w.anon.ownerDescription) counts \(w.anon.wiredRefs) wired entries, the maps have \(w.wiredEntries)")
        }
        for w in objectWired.values where w.object.wiredRefs != w.counts {
            fail("\(w.object.name) counts \(w.object.wiredRefs.values.reduce(0, +)) wired entry pages, the maps have \(w.counts.values.reduce(0, +))")
        }
        for obj in unwiredObjects where !obj.wiredRefs.isEmpty && objectWired[ObjectIdentifier(obj)] == nil {
            fail("\(obj.name) counts \(obj.wiredRefs.values.reduce(0, +)) wired entry pages, the maps have 0")
        }
    }

    /// Every page is exactly one of: free; owned by an object at one offset; owned by one anon;
    /// released and held only by its holders.
    mutating func checkPages() {
        let mem = k.uvm.mem
        // Frames above the high-water mark were never handed out: free and untouched.
        var free = mem.pageCount - mem.pages.count
        for pg in mem.pages {
            if pg.isFree {
                free += 1
                if pg.wireCount != 0 || pg.loanCount != 0 || pg.isMapped || pg.isBusy || pg.owner != nil {
                    fail("free \(pg) is wired, loaned, mapped, busy or owned")
                }
                continue
            }
            switch pg.owner {
            case let obj as UVMObject:
                if obj.pages[pg.offset >> UInt64(shift)] !== pg {
                    fail("\(pg) claims \(obj.name) offset \(pg.offset), which has another page there")
                }
            case let anon as Anon:
                if anon.page !== pg { fail("\(pg) claims \(anon.ownerDescription), which has another page") }
            case nil:
                if !pg.released || (pg.wireCount == 0 && pg.loanCount == 0 && !pg.isBusy) {
                    fail("\(pg) is allocated but has no owner and no holder")
                }
            default:
                fail("\(pg) has an unknown owner")
            }
            if pg.wireCount > 0 && (pg.queue == .active || pg.queue == .inactive) {
                fail("wired \(pg) is on a pageable queue")
            }
            // The page daemon finds pages only on the paging queues: an owned page that no
            // wiring holds is on one between operations (uvm_pageactivate after every
            // allocation and loan break, uvm_pageunwire's requeue), or it is never reclaimed.
            if quiescent, let owner = pg.owner, pg.wireCount == 0, !pg.isBusy, pg.queue != .active, pg.queue != .inactive {
                fail("\(pg) of \(owner.ownerDescription) is unwired but on no paging queue")
            }
        }
        if free != mem.freeCount { fail("free list holds \(mem.freeCount) pages, \(free) pages are free") }
        let wired = mem.pages.count { $0.wireCount > 0 }
        if wired != mem.wiredCount { fail("wired counter says \(mem.wiredCount), \(wired) pages are wired") }
        let released = mem.pages.count { $0.released && $0.wireCount > 0 }
        if released != mem.releasedWiredCount {
            fail("released-wired counter says \(mem.releasedWiredCount), \(released) released pages are wired")
        }
        if mem.wiredAgainstLimit > mem.wiredMax {
            fail("\(mem.wiredAgainstLimit) pages wired, above wiredmax \(mem.wiredMax)"
                 + (released > 0 ? " (\(released) released I/O buffers aside)" : ""))
        }
    }

    /// Map entries are sorted, disjoint, page aligned and inside the address space.
    mutating func checkMap(_ vm: VMSpace, _ entries: [MapEntry]) {
        let map = vm.map
        var prevEnd = map.minAddress
        let mask = UInt64(k.pageSize - 1)
        for e in entries {
            if let obj = e.object { objectUses[ObjectIdentifier(obj), default: ObjectCount(object: obj)].count += 1 }
            if e.start < prevEnd || e.end <= e.start || e.end > map.maxAddress || (e.start | e.end) & mask != 0 {
                fail("\(vm.name): map entry \(hex(e.start))-\(hex(e.end)) is misplaced (previous ends at \(hex(prevEnd)))")
            }
            if !e.maxProtection.isSuperset(of: e.protection) {
                fail("\(vm.name): entry \(hex(e.start)) protection \(e.protection) exceeds max \(e.maxProtection)")
            }
            prevEnd = e.end
            if let amap = e.amap {
                let slots = e.amapSlots(shift)
                if slots.upperBound > amap.slotCount {
                    fail("\(vm.name): entry \(hex(e.start)) reaches past amap \(amap.serial)")
                    continue
                }
                amapUses[ObjectIdentifier(amap), default: AmapUse(amap: amap)]
                    .add(AmapUse.SlotRange(slots: slots, wired: e.isWired && !e.isDevice), inPlaceBy: e.needsCopy ? nil : vm)
            }
        }
    }

    /// Each slot of the amap counts the entries that cover it (ppref) and, under wires that
    /// follow pages, the wired ones (`Amap.wiredRefs`). O(slots), so it is skipped while the
    /// amap's counts and the ranges are those found right at an earlier step (`AuditCache`).
    mutating func checkSlotCounts(_ use: AmapUse) {
        let amap = use.amap
        if let seen = cache?.amaps[amap.serial], seen.generation == amap.countsGeneration,
           seen.exact || !quiescent, seen.ranges == use.ranges { return }
        cache?.slotsWalked += amap.slotCount
        var refs = [Int32](repeating: 0, count: amap.slotCount + 1)
        var wired = refs
        for r in use.ranges {
            refs[r.slots.lowerBound] += 1
            refs[r.slots.upperBound] -= 1
            if r.wired {
                wired[r.slots.lowerBound] += 1
                wired[r.slots.upperBound] -= 1
            }
        }
        var entries: Int32 = 0, wiredEntries: Int32 = 0
        for s in 0..<amap.slotCount {
            entries += refs[s]
            wiredEntries += wired[s]
            if quiescent ? amap.slotRefs[s] != entries : amap.slotRefs[s] < entries {
                fail("amap \(amap.serial) slot \(s) counts \(amap.slotRefs[s]) references, entries hold \(entries)")
                return
            }
            // Historic `unwire=pmap` keeps wires where the wiring fault put them; the counts
            // are checked only where wires follow the layers (`checkWiring`).
            if k.uvm.policy.unwire == .object && amap.wiredRefs[s] != wiredEntries {
                fail("amap \(amap.serial) slot \(s) counts \(amap.wiredRefs[s]) wired entries, the map has \(wiredEntries)")
                return
            }
        }
        cache?.amaps[amap.serial] = .init(generation: amap.countsGeneration, ranges: use.ranges, exact: quiescent)
    }

    /// Every pmap entry maps the page the map says is there, with no more than the entry's
    /// protection, and a copy-on-write page is never writable. Each entry's virtual page is
    /// added to `mappings` under its page, for `checkPVLists`.
    mutating func checkPmap(_ vm: VMSpace, _ mappings: inout PmapMappings) {
        let map = vm.map
        map.pmap.forEachEntry { vpn, pte in checkPTE(vm, vpn, pte, &mappings) }
    }

    private mutating func checkPTE(_ vm: VMSpace, _ vpn: UInt64, _ pte: PTE, _ mappings: inout PmapMappings) {
        mappings.add(vpn, pte.page)
        let va = vpn << UInt64(shift)
        guard let e = vm.map.lookup(va) else {
            fail("\(vm.name): pmap maps \(hex(va)) with no map entry"); return
        }
        if e.needsCopy && pte.prot.contains(.write) {
            fail("\(vm.name): \(pte.page) is writable at \(hex(va)) while its entry still needs a copy")
        }
        if pte.page.loanCount > 0 && pte.prot.contains(.write) {
            fail("\(vm.name): loaned \(pte.page) is writable at \(hex(va))")
        }
        if !e.protection.isSuperset(of: pte.prot) {
            fail("\(vm.name): pmap allows \(pte.prot) at \(hex(va)), entry allows \(e.protection)")
        }
        if pte.page.isFree { fail("\(vm.name): pmap maps free \(pte.page) at \(hex(va))"); return }
        if let amap = e.amap, let anon = amap.anons[e.amapSlot(for: va, shift)] {
            if anon.page !== pte.page {
                fail("\(vm.name): pmap maps \(pte.page) at \(hex(va)), the amap has \(anon.page?.description ?? "no page")")
            } else if anon.refs > 1 && pte.prot.contains(.write) {
                fail("\(vm.name): copy-on-write \(pte.page) is writable at \(hex(va))")
            }
            return
        }
        if e.isDevice {
            if !pte.page.fictitious { fail("\(vm.name): device mapping at \(hex(va)) maps \(pte.page)") }
            return
        }
        guard let obj = e.object, obj.pages[e.objectPage(va, shift)] === pte.page else {
            fail("\(vm.name): pmap maps \(pte.page) at \(hex(va)), which the map does not back it with")
            return
        }
        if e.copyOnWrite && pte.prot.contains(.write) {
            fail("\(vm.name): object \(pte.page) writable through private mapping at \(hex(va))")
        }
    }
}

/// An address space and its map entries in address order.
private struct Space {
    let vm: VMSpace
    let entries: [MapEntry]
}

/// The entries that map an amap (its am_ref), as the slot ranges they cover.
struct AmapUse {
    struct SlotRange: Equatable {
        let slots: Range<Int>
        /// The entry is wired: each slot it covers counts it in `Amap.wiredRefs`.
        let wired: Bool
    }

    let amap: Amap
    var ranges: [SlotRange] = []
    /// The address spaces whose entries map it with no copy pending (`checkSharedAmaps`), and
    /// the last one counted: a space's entries come together, so each is counted once.
    private(set) var inPlaceSpaces = 0
    private var lastInPlaceSpace: ObjectIdentifier?

    init(amap: Amap) { self.amap = amap }

    mutating func add(_ range: SlotRange, inPlaceBy space: AnyObject?) {
        ranges.append(range)
        if let space, ObjectIdentifier(space) != lastInPlaceSpace {
            inPlaceSpaces += 1
            lastInPlaceSpace = ObjectIdentifier(space)
        }
    }

    /// How many entries (wired ones only, with `wired`) cover `slot`. O(entries).
    func entriesCovering(_ slot: Int, wired: Bool = false) -> Int32 {
        Int32(ranges.count { $0.slots.contains(slot) && (!wired || $0.wired) })
    }
}

/// An anon, the amap slots that hold it and the wired entries that see it through them.
private struct AnonCount {
    let anon: Anon
    var count = 0
    var wiredEntries = 0

    mutating func add(wiredEntries n: Int) {
        count += 1
        wiredEntries += n
    }
}

/// An object and a count of what holds it.
private struct ObjectCount {
    let object: UVMObject
    var count = 0
}

/// What the pmaps map, per frame, as `checkPVLists` compares it with the pv lists: for each
/// page, how many pmap entries map it and a sum of their mixed virtual page numbers.
private struct PmapMappings {
    /// A multiset of virtual page numbers, summarized: equal multisets give equal tallies, and
    /// unequal ones equal tallies only by a 64-bit collision of the mixed sums.
    struct Tally: Equatable {
        var count = 0
        var sum: UInt64 = 0

        mutating func add(_ vpn: UInt64) {
            count += 1
            // splitmix64's finalizer: a sum of mixed values tells multisets apart.
            var z = vpn &+ 0x9e37_79b9_7f4a_7c15
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            sum &+= z ^ (z >> 31)
        }
    }

    /// By frame number.
    private var frames: [Tally]
    /// Fake device pages (negative frame numbers), by identity.
    private(set) var fictitious: [ObjectIdentifier: (page: VMPage, tally: Tally)] = [:]

    init(frames: Int) { self.frames = Array(repeating: Tally(), count: frames) }

    mutating func add(_ vpn: UInt64, _ page: VMPage) {
        if page.pfn >= 0 && page.pfn < frames.count {
            frames[page.pfn].add(vpn)
        } else {
            fictitious[ObjectIdentifier(page), default: (page, Tally())].tally.add(vpn)
        }
    }

    func tally(_ page: VMPage) -> Tally { frames[page.pfn] }
}
