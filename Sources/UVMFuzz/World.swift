// What a scenario has made so far, as the generator sees it: processes and threads, mappings,
// files, devices, segments, and the vslock and loan handles still open. The generator only
// binds a variable where the line certainly succeeds (a later line naming an unbound variable is
// an error in the scenario, not in the kernel), and only unmaps where no vslock of the same
// process is open (munmap waits for the I/O to drain: a thread unmapping its own buffer
// deadlocks by design).

import UVMScenario
import UVMSched

/// A deterministic source of choices (SplitMix64, the scheduler's own generator).
struct Choices {
    private var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed ^ 0x5eed_f022_0000_0000) }

    /// A number in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }

    /// A number in the closed range.
    mutating func within(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }

    /// A size in pages on `limit` or one page either side: where an off-by-one in a limit shows
    /// (wiredmax, for a segment SHM_LOCKed or a mapping mlocked whole).
    mutating func pages(near limit: Int) -> Int { max(1, limit + within(-1...1)) }

    /// True with probability `percent`/100.
    mutating func percent(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// One of `items`, each as likely as its weight.
    mutating func weighted<T>(_ items: [T], _ weight: (T) -> Int) -> T {
        let total = items.reduce(0) { $0 + weight($1) }
        var r = below(max(total, 1))
        for item in items {
            r -= weight(item)
            if r < 0 { return item }
        }
        return items[items.count - 1]
    }

    /// `low`, `low`+1, ... each as likely as its weight in `weights`.
    mutating func count(_ weights: [Int], from low: Int = 0) -> Int {
        low + weighted(Array(weights.indices)) { weights[$0] }
    }

    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, below(i + 1)) }
    }
}

/// The object behind a mapping: what makes two mappings see the same pages.
enum Backing: Hashable {
    case anon(String)
    case file(String)
    case device(String)
    case segment(String)
}

struct Region {
    /// The variable that holds its address (a fork child names it by the same variable).
    var variable: String
    var proc: String
    var pages: Int
    var backing: Backing
    /// The page of the backing object the mapping starts at.
    var objectPage: Int
    var writable: Bool
    /// Mapped exactly as made, as far as the generator knows: a line binding a handle over it
    /// certainly succeeds.
    var intact: Bool
}

struct ProcState {
    var name: String
    var threads: [String]
    var alive = true
    /// uid 0: may SHM_LOCK (sysv_shm.c: shmctl1 asks kauth for it).
    var isRoot = false
}

struct Handle {
    var variable: String
    var isLoan: Bool
    var proc: String
    /// The thread that made it, which gives it back.
    var thread: String
    /// For a loan, the page it was steered to: the block that gives it back aims there too, so
    /// that the loan's end races the wirings and stores of the page it lent.
    var hot: HotSpot? = nil
    var open = true
    /// Given back in the block being written: still held (its process may not unmap), but no
    /// other line may use it.
    var givenBack = false
}

struct FileState {
    var name: String
    var pages: Int
    var badPage: Int?
}

struct World {
    var ramPages = 32
    var wiredMax = 21
    /// `machine shmseg=N`, when the scenario gives it: the attachments one process may hold.
    var shmSeg: Int?
    var files: [FileState] = []
    var devices: [String] = []
    var procs: [ProcState] = []
    var regions: [Region] = []
    var segments: [String] = []
    var handles: [Handle] = []
    /// An upper bound of the pages wired so far (mlock, SHM_LOCK, vslock), so a vslock in the
    /// setup is only written where it cannot hit wiredmax.
    var wiredBound = 0
    private var counters: [String: Int] = [:]

    /// A fresh name with `prefix`: `m1`, `m2`, ...
    mutating func fresh(_ prefix: String) -> String {
        counters[prefix, default: 0] += 1
        return "\(prefix)\(counters[prefix]!)"
    }

    var liveProcs: [ProcState] { procs.filter(\.alive) }

    func proc(owning thread: String) -> ProcState? { procs.first { $0.threads.contains(thread) } }

    func regions(of proc: String) -> [Region] { regions.filter { $0.proc == proc } }

    /// The mappings of `proc` that are SysV shm attachments (a fork child's inherited ones too).
    func attachments(of proc: String) -> [Region] {
        regions(of: proc).filter { if case .segment = $0.backing { true } else { false } }
    }

    /// Whether one more shmat by `proc` certainly succeeds under `shmseg`.
    func mayAttach(_ proc: String) -> Bool {
        guard let shmSeg else { return true }
        return attachments(of: proc).count < shmSeg
    }

    /// Whether a vslock of this process is open: it may not unmap, exec or exit.
    func holdsVslock(_ proc: String) -> Bool { handles.contains { $0.open && !$0.isLoan && $0.proc == proc } }

    /// The handles a line may use.
    func openHandles(loans: Bool) -> [Handle] { handles.filter { $0.open && !$0.givenBack && $0.isLoan == loans } }
}

extension World {
    /// The resources a parsed scenario makes, so a mutation can write new lines into it. Nothing
    /// is known to be intact: the mutator never binds.
    init(scenario: Scenario) {
        var handlesOwner: [String: String] = [:]
        func noteOperation(_ op: Operation, world: inout World) {
            guard let binding = op.binding else { return }
            let owner = world.proc(owning: op.actor)?.name ?? op.actor
            switch op.command {
            case .mmapAnon(let length, _, _, _, _, _, _):
                world.regions.append(Region(variable: binding, proc: owner, pages: Self.pages(length), backing: .anon(binding),
                                            objectPage: 0, writable: true, intact: false))
            case .mmapFile(let file, let length, _, _, _, _, _, _, _):
                world.regions.append(Region(variable: binding, proc: owner, pages: Self.pages(length), backing: .file(file),
                                            objectPage: 0, writable: true, intact: false))
            case .mmapDevice(let device, let length, _):
                world.regions.append(Region(variable: binding, proc: owner, pages: Self.pages(length), backing: .device(device),
                                            objectPage: 0, writable: true, intact: false))
            case .shmat(let id, _):
                world.regions.append(Region(variable: binding, proc: owner, pages: 1, backing: .segment(id),
                                            objectPage: 0, writable: true, intact: false))
            case .shmget: world.segments.append(binding)
            case .vslock, .loan:
                handlesOwner[binding] = op.actor
                let isLoan = if case .loan = op.command { true } else { false }
                world.handles.append(Handle(variable: binding, isLoan: isLoan, proc: owner, thread: op.actor))
            case .fork:
                world.procs.append(ProcState(name: binding, threads: [binding]))
                world.regions += world.regions(of: owner).map { var r = $0; r.proc = binding; return r }
            default: break
            }
        }
        for st in scenario.statements {
            switch st.kind {
            case .machine(let ram, _, _, _, let shmSeg):
                if let ram { ramPages = Self.pages(ram) }
                shmSeg.map { self.shmSeg = Int(clamping: $0) }
            case .file(let name, let size, _, let bad): files.append(FileState(name: name, pages: Self.pages(size), badPage: bad.map { Int($0) }))
            case .device(let name, _): devices.append(name)
            case .proc(let name, _, _): procs.append(ProcState(name: name, threads: [name]))
            case .thread(let name, let proc):
                if let i = procs.firstIndex(where: { $0.name == proc }) { procs[i].threads.append(name) }
            case .operation(let op): noteOperation(op, world: &self)
            case .together(let ops): for op in ops { noteOperation(op, world: &self) }
            default: break
            }
        }
    }

    /// A size in pages as the generator writes them (`3p`); others count as one page.
    static func pages(_ s: Size) -> Int { s.unit == .pages ? max(1, Int(min(s.value, 64))) : 1 }
}
