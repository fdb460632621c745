// Each scenario operation as the system call (or kernel entry) it stands for, and its result as
// the scenario prints it: ok, an errno name, a signal, a byte, an address, a residency string.

import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario
import UVMSched

enum Operations {
    static func vmProt(_ p: Protection) -> VMProt { VMProt(rawValue: p.rawValue) }

    @Sim
    static func perform(_ command: Command, binding: String?, at location: SourceLocation, on lwp: LWP, runner: ScenarioRunner) async throws -> String {
        let k = runner.kernel!
        func size(_ s: Size, _ a: Address? = nil) throws -> UInt64 {
            try runner.bytes(s, a?.location ?? location)
        }
        func bindAddress(_ v: UInt64) throws -> String {
            if let binding { try runner.bind(binding, .address(v), location) }
            return hex(v)
        }
        switch command {
        case .mmapAnon(let length, let prot, let maxProt, let share, let fixed):
            let addr = try await k.mmap(lwp, .anon, length: try size(length), prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: vmProt(maxProt ?? [.read, .write, .execute]), shared: share == .shared,
                                        fixed: try fixed.map(runner.address))
            return try bindAddress(addr)
        case .mmapFile(let file, let length, let offset, let prot, let maxProt, let share, let fixed):
            let addr = try await k.mmap(lwp, .file(file), length: try size(length), offset: try offset.map { try size($0) } ?? 0,
                                        prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: vmProt(maxProt ?? [.read, .write, .execute]), shared: share == .shared,
                                        fixed: try fixed.map(runner.address))
            return try bindAddress(addr)
        case .mmapDevice(let device, let length, let prot):
            let addr = try await k.mmap(lwp, .device(device), length: try size(length), prot: vmProt(prot ?? [.read, .write]),
                                        maxProt: [.read, .write], shared: true, fixed: nil)
            return try bindAddress(addr)
        case .munmap(let a, let len):
            try await k.munmap(lwp, try runner.address(a), try size(len, a))
        case .mprotect(let a, let len, let prot):
            try await k.mprotect(lwp, try runner.address(a), try size(len, a), vmProt(prot))
        case .minherit(let a, let len, let inh):
            let i: UVMCore.Inheritance = switch inh { case .share: .share; case .copy: .copy; case .none: .none }
            try await k.minherit(lwp, try runner.address(a), try size(len, a), i)
        case .madvise(let a, let len, let adv):
            let v: UVMCore.Advice = switch adv { case .dontneed: .dontneed; case .willneed: .willneed; case .free: .free }
            try await k.madvise(lwp, try runner.address(a), try size(len, a), v)
        case .msync(let a, let len, let mode):
            try await k.msync(lwp, try runner.address(a), try size(len, a), invalidate: mode == .invalidate)
        case .mincore(let a, let len):
            return try await k.mincore(lwp, try runner.address(a), try size(len, a)).map { $0 ? "1" : "0" }.joined()
        case .load(let a):
            return byteString(try await k.load(lwp, try runner.address(a)))
        case .store(let a, let b):
            try await k.store(lwp, try runner.address(a), b)
        case .fill(let a, let len, let b):
            try await k.fill(lwp, try runner.address(a), try size(len, a), b)
        case .check(let a, let len, let b):
            if let m = try await k.check(lwp, try runner.address(a), try size(len, a), b) {
                return "+\(hex(m.offset)) is \(byteString(m.value))"
            }
        case .truncate(let file, let len):
            try await k.truncate(lwp, file: file, size: try size(len))
        case .write(let file, let off, let from, let len):
            let n = try await k.write(lwp, file: file, offset: try size(off), from: try runner.address(from), length: try size(len, from))
            if n != (try size(len, from)) { return "\(n)" }
        case .read(let file, let off, let to, let len):
            let want = try size(len, to)
            let n = try await k.read(lwp, file: file, offset: try size(off), to: try runner.address(to), length: want)
            if n != want { return "\(n)" }
        case .fsync(let file):
            try await k.fsync(lwp, file: file)
        case .fork:
            guard let binding else { throw Errno.EINVAL }
            try runner.checkNewName(binding, location)
            let child = try await k.fork(lwp, childName: binding)
            try runner.bind(binding, .process(child.name), location)
        case .exec:
            try await k.exec(lwp)
        case .exit:
            try await k.exit(lwp)
        case .mlock(let a, let len):
            try await k.mlock(lwp, try runner.address(a), try size(len, a))
        case .munlock(let a, let len):
            try await k.munlock(lwp, try runner.address(a), try size(len, a))
        case .mlockall(let current, let future):
            try await k.mlockall(lwp, current: current, future: future)
        case .munlockall:
            try await k.munlockall(lwp)
        case .vslock(let a, let len, let access):
            let prot: VMProt = switch access ?? .readWrite {
            case .read: [.read]
            case .write: [.write]
            case .readWrite: [.read, .write]
            }
            let hold = try await k.vslock(lwp, try runner.address(a), try size(len, a), access: prot)
            if let binding { try runner.bind(binding, .hold(hold), location) }
            return "ok"
        case .vsunlock(let handle):
            try await k.vsunlock(lwp, try runner.hold(handle))
        case .dmaWrite(let handle, let byte):
            try await k.dmaWrite(try runner.hold(handle), byte)
        case .dmaRead(let handle):
            switch try await k.dmaRead(try runner.hold(handle)) {
            case .success(let b): return byteString(b)
            case .failure(let m): return "+\(hex(m.offset)) is \(byteString(m.value))"
            }
        case .physio(let device, let dir, let a, let len):
            try await k.physio(lwp, device: device, read: dir == .read, try runner.address(a), try size(len, a))
        case .sysctl(let a, let len):
            try await k.sysctl(lwp, try runner.address(a), try size(len, a))
        case .shmget(let sz):
            let id = try await k.shmget(lwp, size: try size(sz))
            if let binding { try runner.bind(binding, .number(UInt64(id)), location) }
            return "\(id)"
        case .shmat(let id, let ro):
            return try bindAddress(try await k.shmat(lwp, id: try runner.number(id, location), readOnly: ro))
        case .shmdt(let a):
            try await k.shmdt(lwp, try runner.address(a))
        case .shmctl(let id, let cmd):
            let c: Kernel.ShmCommand = switch cmd { case .lock: .lock; case .unlock: .unlock; case .rmid: .remove }
            try await k.shmctl(lwp, id: try runner.number(id, location), c)
        case .loan(let a, let len):
            let l = try await k.loan(lwp, try runner.address(a), try size(len, a))
            if let binding { try runner.bind(binding, .loan(l), location) }
        case .unloan(let handle):
            try k.unloan(try runner.loan(handle))
        case .ptraceRead(let target, let a):
            return byteString(try await k.ptraceRead(lwp, target: target, try runner.address(a)))
        case .ptraceWrite(let target, let a, let b):
            try await k.ptraceWrite(lwp, target: target, try runner.address(a), b)
        case .pagedaemon(let pages):
            let freed = try await k.uvm.pageDaemon(target: pages.map { Int(clamping: $0) })
            return "freed \(freed)"
        }
        return "ok"
    }
}
