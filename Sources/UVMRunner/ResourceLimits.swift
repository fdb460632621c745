// What a command may spend: a wall-clock deadline and a ceiling on its resident set. A command
// checks them between runs, so whatever it found so far is still in hand when one runs out, and
// each run checks them every few thousand steps, so one run too long or too large for them (a
// fill of gigabytes, a schedule that spins) ends STOPPED rather than overrunning them.

#if canImport(Glibc)
import Glibc
#endif

public struct ResourceLimits: Sendable {
    public var deadline: ContinuousClock.Instant?
    public var maxResidentBytes: Int?

    public static let none = ResourceLimits()

    /// Whether there is anything to check.
    public var isNone: Bool { deadline == nil && maxResidentBytes == nil }

    public init(deadline: ContinuousClock.Instant? = nil, maxResidentBytes: Int? = nil) {
        self.deadline = deadline
        self.maxResidentBytes = maxResidentBytes
    }

    /// Limits starting now: `seconds` from now (if given), and `megabytes` of resident set.
    public init(seconds: Double?, maxResidentMegabytes megabytes: Int?) {
        deadline = seconds.map(Self.deadline(in:))
        maxResidentBytes = megabytes.map { $0 << 20 }
    }

    /// The instant `seconds` from now.
    public static func deadline(in seconds: Double) -> ContinuousClock.Instant {
        ContinuousClock.now + .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    /// These limits, with a deadline no later than `end`: a part of a command (a reproducer's
    /// shrinking, one scenario of a campaign) with a budget of its own inside the command's.
    public func ending(by end: ContinuousClock.Instant) -> ResourceLimits {
        var bounded = self
        bounded.deadline = min(deadline ?? end, end)
        return bounded
    }

    /// Which limit has run out, if any. The deadline counts as passed early enough for three
    /// runs as slow as `slowestRun`: the next one, the report's run after it, and a margin for
    /// a run slower than any so far (a loaded machine).
    public func exceeded(slowestRun: Duration = .zero) -> LimitReached? {
        if let deadline, ContinuousClock.now + slowestRun * 3 >= deadline { return .time }
        if let maxResidentBytes {
            let resident = ResidentSet.bytes()
            if resident > maxResidentBytes { return .memory(residentBytes: resident, ceiling: maxResidentBytes) }
        }
        return nil
    }
}

public enum LimitReached: Sendable, Equatable {
    case time
    case memory(residentBytes: Int, ceiling: Int)

    /// For a report line: "time ran out", "resident set 530 MB past the 512 MB ceiling" (the
    /// resident set rounded up, so it never reads as the ceiling itself).
    public var description: String {
        switch self {
        case .time: "time ran out"
        case .memory(let resident, let ceiling): "resident set \((resident + (1 << 20) - 1) >> 20) MB past the \(ceiling >> 20) MB ceiling"
        }
    }
}

public enum ResidentSet {
    /// The process's resident set in bytes, from /proc/self/statm (0 where there is no /proc).
    public static func bytes() -> Int {
        #if canImport(Glibc)
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return 0 }
        let fields = String(decoding: buf[..<n], as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }
}
