// Each scenario operation as the system call (or kernel entry) it stands for, and its result as
// the scenario prints it: ok, an errno name, a signal, a byte, an address, a residency string.

import UVMCheck
import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario
import UVMSched

enum Operations {
    static func vmProt(_ p: Protection) -> VMProt { VMProt(rawValue: p.rawValue) }

    static func vmProt(access: Access) -> VMProt {
        switch access {
        case .read: [.read]
        case .write: [.write]
        case .readWrite: [.read, .write]
        }
    }

    /// The most pages a mincore may answer for.
    static let mincoreMaxPages: UInt64 = 1 << 20

    /// The mmap flags a line gives beyond MAP_SHARED and MAP_FIXED.
    static func mmapFlags(_ share: MapShare?, wired: Bool, descriptor: String? = nil) -> MmapFlags {
        var flags: MmapFlags = wired ? [.wired] : []
        if share == .both { flags.insert(.alsoPrivate) }
        if descriptor != nil { flags.insert(.anonWithDescriptor) }
        return flags
    }

    @Sim
    static func perform(_ command: Command, binding: String?, at location: SourceLocation, on lwp: LWP, runner: ScenarioRunner) async throws -> String {
        let k = runner.kernel!
        let model = runner.model!
        let me = lwp.proc?.name ?? "kernel"
        let line = location.line
        let mask = UInt64(k.pageSize - 1)
        // The pages a range touches; a range reaching past 2^64 stops at the last page.
        func pages(_ addr: UInt64, _ len: UInt64) -> (UInt64, UInt64) {
            (addr & ~mask, saturatingEnd(saturatingEnd(addr, len), mask) & ~mask)
        }
        func size(_ s: Size, _ a: Address? = nil) throws -> UInt64 {
            try runner.bytes(s, a?.location ?? location)
        }
        // A wiring copies the pages of a private file mapping it faults for writing to
        // anonymous memory (VM_FAULT_WIREMAX, uvm_fault_wire; a vslock for a device read), even
        // when it then fails: the model learns which pages, and takes their bytes from its own file.
        func notePrivateCopies(_ addr: UInt64, _ len: UInt64) {
            guard let p = lwp.proc, !p.exited else { return }
            let (lo, hi) = pages(addr, len)
            guard lo < hi else { return }
            for e in p.map.entries(in: lo, hi) where e.copyOnWrite && e.object != nil {
                guard let amap = e.amap else { continue }
                let first = e.amapSlot(for: max(lo, e.start), k.uvm.pageShift)
                let last = e.amapSlot(for: min(hi, e.end) - 1, k.uvm.pageShift)
                for slot in first...last where amap.anons[slot] != nil {
                    model.privateCopy(me, e.start + UInt64(slot - e.amapSlot) << UInt64(k.uvm.pageShift))
                }
            }
        }
        // Inside `together` the model hears of an operation only when it returns, and another
        // thread may have mapped, unmapped or detached the range in between: what it writes is
        // forgotten before it runs as well, in whatever the range reaches then.
        func racingWrite(_ target: String, _ va: UInt64, _ len: UInt64) {
            if model.racing { model.forget(target, va, len) }
        }
        // A wiring call whose answer the limit oracle, having looked before it, judges.
        func judged(by oracle: (any AnswerJudgment)?, _ call: () async throws -> Void) async throws {
            var answer: Errno?
            do { try await call() } catch let e as Errno { answer = e }
            if let wrong = oracle?.judge(answer) {
                throw k.sched.abort(KernelFailure(.invariant, "line \(line): \(wrong)"))
            }
            if let answer { throw answer }
        }
        // The permission oracle's look before a ptrace, outside blocks.
        func ptraceOracle(_ call: String, _ target: String) -> PtraceOracle? {
            model.racing ? nil : PtraceOracle(call, caller: lwp.proc, target: k.proc(named: target))
        }
        func bindAddress(_ v: UInt64) throws -> String {
            if let binding { try runner.bind(binding, .address(v), location) }
            return hex(v)
        }
        switch command {
        case .mmapAnon(let length, let prot, let maxProt, let share, let fixed, let wired, let descriptor):
            let len = try size(length)
            let shared = share == .shared || share == .both
            let addr = try await k.mmap(lwp, .anon, length: len, prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: vmProt(maxProt ?? [.read, .write, .execute]), shared: shared,
                                        fixed: try fixed.map(runner.address),
                                        flags: mmapFlags(share, wired: wired, descriptor: descriptor))
            if len > 0 { let (lo, hi) = pages(addr, len); model.mapAnon(me, lo, hi, shared: shared) }
            return try bindAddress(addr)
        case .mmapFile(let file, let length, let offset, let prot, let maxProt, let share, let fixed, let wired, let openMode):
            let len = try size(length), off = try offset.map { try size($0) } ?? 0
            let shared = share == .shared || share == .both
            let addr = try await k.mmap(lwp, .file(file), length: len, offset: off,
                                        prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: vmProt(maxProt ?? [.read, .write, .execute]), shared: shared,
                                        fixed: try fixed.map(runner.address), flags: mmapFlags(share, wired: wired),
                                        opened: vmProt(access: openMode ?? .readWrite))
            let (lo, hi) = pages(addr, saturatingEnd(len, off & mask))
            model.mapFile(me, file, lo, hi, offset: off & ~mask, shared: shared)
            notePrivateCopies(lo, hi - lo)  // MCL_FUTURE or MAP_WIRED wires the new mapping
            return try bindAddress(addr)
        case .mmapDevice(let device, let length, let prot):
            let len = try size(length)
            let addr = try await k.mmap(lwp, .device(device), length: len, prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: [.read, .write], shared: true, fixed: nil)
            let (lo, hi) = pages(addr, len)
            model.mapDevice(me, device, lo, hi)
            return try bindAddress(addr)
        case .munmap(let a, let len):
            let addr = try runner.address(a), n = try size(len, a)
            try await k.munmap(lwp, addr, n)
            let (lo, hi) = pages(addr, n)
            model.unmap(me, lo, hi)
        case .mprotect(let a, let len, let prot):
            try await k.mprotect(lwp, try runner.address(a), try size(len, a), vmProt(prot))
        case .minherit(let a, let len, let inh):
            let addr = try runner.address(a), n = try size(len, a)
            let applied = try await k.minherit(lwp, addr, n, mapInherit: inh.rawValue)
            let (lo, hi) = pages(addr, n)
            model.minherit(me, lo, hi, applied.rawValue)
        case .madvise(let a, let len, let adv):
            let addr = try runner.address(a), n = try size(len, a)
            // The kernel may or may not free anonymous pages (a shared amap keeps them), and a
            // free that fails has freed some all the same: uvm_map_clean drops the anons before
            // the object's write-back returns its EIO.
            defer { if adv == .free { let (lo, hi) = pages(addr, n); model.forget(me, lo, hi - lo) } }
            try await k.madvise(lwp, addr, n, behav: adv.rawValue)
        case .msync(let a, let len, let mode):
            try await k.msync(lwp, try runner.address(a), try size(len, a), flags: (mode ?? .sync).rawValue)
        case .mincore(let a, let len, let vec):
            let addr = try runner.address(a), length = try size(len, a)
            // The answer is a character a page: past a million pages it would be the cost of
            // the run, so the limit is named instead, for a range the call would answer for
            // (the kernel refuses a wrapping one, EINVAL).
            if let end = try? k.mincoreEnd(addr, length), (end - addr) / UInt64(k.pageSize) > mincoreMaxPages {
                throw ScenarioError(location: location, message: "expected mincore of at most 1M pages (its answer is a character a page)")
            }
            func bits(_ resident: [Bool]) -> String { resident.map { $0 ? "1" : "0" }.joined() }
            guard let vec else { return bits(try await k.mincore(lwp, addr, length)) }
            // The answer is copied out to the vector, one byte per page.
            let vector = try runner.address(vec)
            let count = length / UInt64(k.pageSize) + (length & mask == 0 ? 0 : 1)
            defer { notePrivateCopies(vector, count) }
            racingWrite(me, vector, count)
            let resident = try await k.mincore(lwp, addr, length, vector: vector)
            for (i, r) in resident.enumerated() { model.write(me, vector + UInt64(i), r ? 1 : 0) }
            return bits(resident)
        case .load(let a):
            let va = try runner.address(a)
            let b = try await k.load(lwp, va)
            try runner.compare(me, va, got: b, line: line)
            return byteString(b)
        case .store(let a, let b):
            let va = try runner.address(a)
            let op = model.racing ? model.beginConstantWrite(me, va, 1) : nil
            try await k.store(lwp, va, b)
            if let op { model.endConstantWrite(op, me, va, 1, b) } else { model.write(me, va, b) }
        case .fill(let a, let len, let b):
            let va = try runner.address(a), n = try size(len, a)
            let op = model.racing ? model.beginConstantWrite(me, va, n) : nil
            do {
                try await k.fill(lwp, va, n, b)
            } catch let s as Signal {
                model.forget(me, va, n)  // part of the range may have been written
                throw s
            }
            if let op { model.endConstantWrite(op, me, va, n, b) } else { model.fill(me, va, n, b) }
        case .check(let a, let len, let b):
            let va = try runner.address(a), n = try size(len, a)
            let m = try await k.check(lwp, va, n, b)
            // Bytes the kernel showed: BYTE up to the first difference, then that byte.
            if !model.racing {
                let shown = min(n, (m?.offset ?? n) + 1)
                if let i = model.firstDifference(me, va, shown, from: b, last: m?.value) {
                    try runner.compare(me, va + i, got: i == m?.offset ? m!.value : b, line: line)
                }
            }
            if let m { return "+\(hex(m.offset)) is \(byteString(m.value))" }
        case .truncate(let file, let len):
            let n = try size(len)
            try await k.truncate(lwp, file: file, size: n)
            model.truncate(file, n)
        case .write(let file, let off, let from, let len):
            let o = try size(off), src = try runner.address(from), want = try size(len, from)
            let n: UInt64
            do {
                n = try await k.write(lwp, file: file, offset: o, from: src, length: want)
            } catch let error as Errno {
                // dofilewrite returns the error (EIO, EFAULT) even after part of the data reached
                // the file.
                model.fileForget(file, o, want)
                throw error
            }
            // write(2) does not change the memory it copies from: what it copied is what the
            // model holds there, and no more than that is read.
            model.fileWrite(file, o, model.read(me, src, count: n))
            if n != want { return "\(n)" }
        case .read(let file, let off, let to, let len):
            let o = try size(off), dst = try runner.address(to), want = try size(len, to)
            racingWrite(me, dst, want)
            let n: UInt64
            do {
                n = try await k.read(lwp, file: file, offset: o, to: dst, length: want)
            } catch let e as Errno {
                model.forget(me, dst, want)  // part of the buffer may have been copied out
                throw e
            }
            // read(2) takes the file's bytes under the vnode lock before it copies them out, so a
            // buffer that maps the same file receives the bytes as they were, not bytes it has
            // just overwritten (an overlapping copy reads its source first).
            let read = (0..<n).map { model.fileRead(file, o + $0) }
            for (i, b) in read.enumerated() {
                if let b { model.write(me, dst + UInt64(i), b) } else { model.forget(me, dst + UInt64(i), 1) }
            }
            if n != want { return "\(n)" }
        case .fsync(let file):
            try await k.fsync(lwp, file: file)
        case .fork:
            guard let binding else { throw Errno.EINVAL }
            try runner.checkNewName(binding, location)
            let child = try await k.fork(lwp, childName: binding)
            model.fork(me, child.name)
            try runner.bind(binding, .process(child.name), location)
        case .setrlimitMemlock(let limit):
            let bytes = try size(limit)
            let oracle = model.racing ? nil : lwp.proc.map { SetrlimitOracle($0, asking: bytes) }
            try await judged(by: oracle) { try k.setMemlockLimit(lwp, bytes) }
        case .setuid(let uid):
            try k.setuid(lwp, uid)
        case .exec:
            try await k.exec(lwp)
            model.clear(me)
        case .exit:
            try await k.exit(lwp)
            model.clear(me)
        case .mlock(let a, let len):
            let addr = try runner.address(a), n = try size(len, a)
            defer { notePrivateCopies(addr, n) }
            let oracle = model.racing ? nil : lwp.proc.flatMap { MemlockOracle.mlock(k, $0, addr: addr, len: n) }
            try await judged(by: oracle) { try await k.mlock(lwp, addr, n) }
        case .munlock(let a, let len):
            try await k.munlock(lwp, try runner.address(a), try size(len, a))
        case .mlockall(let current, let future, let otherBits):
            defer { notePrivateCopies(0, .max) }
            let oracle = model.racing || !current ? nil : lwp.proc.map { MemlockOracle.mlockallCurrent(k, $0) }
            try await judged(by: oracle) { try await k.mlockall(lwp, current: current, future: future, otherBits: otherBits) }
        case .munlockall:
            try await k.munlockall(lwp)
        case .vslock(let a, let len, let access):
            let prot = vmProt(access: access ?? .readWrite)
            let addr = try runner.address(a), n = try size(len, a)
            defer { notePrivateCopies(addr, n) }
            let hold = try await k.vslock(lwp, addr, n, access: prot)
            if let binding { try runner.bind(binding, .hold(hold), location) }
            return "ok"
        case .vsunlock(let handle):
            try await k.vsunlock(lwp, try runner.hold(handle, location))
        case .dmaWrite(let handle, let byte):
            let h = try runner.hold(handle, location)
            // The bytes land in the address space that vslocked them, whichever thread starts
            // the DMA; if that image is gone, nobody can read them.
            let target = k.procs.first { $0.map === h.map }?.name
            if let target { racingWrite(target, h.start, h.end - h.start) }
            try await k.dmaWrite(h, byte)
            // The DMA reaches the captured pages, which may or may not still back the range.
            if let target { model.forget(target, h.start, h.end - h.start) }
        case .dmaRead(let handle):
            switch try await k.dmaRead(try runner.hold(handle, location)) {
            case .success(let b): return byteString(b)
            case .failure(let m): return "+\(hex(m.offset)) is \(byteString(m.value))"
            }
        case .physio(let device, let dir, let a, let len):
            let va = try runner.address(a), n = try size(len, a)
            defer { notePrivateCopies(va, n) }
            if dir == .read { racingWrite(me, va, n) }
            try await k.physio(lwp, device: device, read: dir == .read, va, n)
            if dir == .read, let pattern = k.devices[device]?.pattern { model.fill(me, va, n, pattern) }
        case .sysctl(let a, let len):
            let va = try runner.address(a), n = try size(len, a)
            defer { notePrivateCopies(va, n) }
            racingWrite(me, va, n)
            try await k.sysctl(lwp, va, n)
            model.fill(me, va, n, Kernel.sysctlByte)
        case .shmget(let sz, let key, let create, let exclusive, let mode):
            let known = Set(k.shmSegments.keys)
            let id = try await k.shmget(lwp, size: try sz.map { try size($0) } ?? 0, key: key, create: create || key == nil,
                                        exclusive: exclusive, mode: mode)
            // A key already in use gives back its segment, whose bytes the model holds already.
            if !known.contains(id) { model.shmget(id) }
            if let binding { try runner.bind(binding, .number(UInt64(id)), location) }
            return "\(id)"
        case .shmat(let id, let ro):
            let n = try runner.number(id, location)
            let addr = try await k.shmat(lwp, id: n, readOnly: ro)
            model.shmat(me, n, addr, addr + (k.shmSegments[n]?.size ?? 0))
            return try bindAddress(addr)
        case .shmdt(let a):
            let addr = try runner.address(a)
            let seg = lwp.proc?.vmspace.shmAttachment(at: addr)
            try await k.shmdt(lwp, addr)
            if let seg { model.unmap(me, addr, addr + seg.size) }
        case .shmctl(let id, let cmd):
            let c: Kernel.ShmCommand
            switch cmd {
            case .lock: c = .lock
            case .unlock: c = .unlock
            case .rmid: c = .remove
            case .stat(let field):
                let stat = try k.shmStat(lwp, id: try runner.number(id, location))
                switch field {
                case .size: return "\(stat.size)"
                case .nattch: return "\(stat.attachments)"
                case .mode: return "0" + String(stat.mode, radix: 8)
                case .locked: return stat.locked ? "1" : "0"
                }
            }
            try await k.shmctl(lwp, id: try runner.number(id, location), c)
        case .loan(let a, let len):
            let l = try await k.loan(lwp, try runner.address(a), try size(len, a))
            if let binding { try runner.bind(binding, .loan(l), location) }
        case .unloan(let handle):
            try k.unloan(try runner.loan(handle, location))
        case .ptraceRead(let target, let a):
            let va = try runner.address(a)
            var b: UInt8 = 0
            try await judged(by: ptraceOracle("ptrace read", target)) { b = try await k.ptraceRead(lwp, target: target, va) }
            try runner.compare(target, va, got: b, line: line)
            return byteString(b)
        case .ptraceWrite(let target, let a, let b):
            let va = try runner.address(a)
            racingWrite(target, va, 1)
            try await judged(by: ptraceOracle("ptrace write", target)) { try await k.ptraceWrite(lwp, target: target, va, b) }
            model.write(target, va, b)
        case .pagedaemon(let pages):
            let freed = try await k.uvm.pageDaemon(target: pages.map { Int(clamping: $0) })
            return "freed \(freed)"
        }
        return "ok"
    }
}
