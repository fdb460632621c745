// The value types an argument can be written as: SIZE, ADDR and PROT.

/// The unit a SIZE was written in.
public enum SizeUnit: Sendable, Hashable {
    /// No suffix: `4096`, `0x1000`.
    case bytes
    /// `p`: pages of the simulated machine, whose size is only known when the scenario runs.
    case pages
    /// `K`: 1024 bytes.
    case kib
    /// `M`: 1024 K.
    case mib
    /// `G`: 1024 M.
    case gib
}

/// A length or offset as written in the scenario. It stays symbolic because `2p` depends on the
/// `machine pagesize=` of the run, which the command line can override.
public struct Size: Sendable, Hashable {
    public var value: UInt64
    public var unit: SizeUnit

    public init(_ value: UInt64, _ unit: SizeUnit = .bytes) {
        self.value = value
        self.unit = unit
    }

    /// The size in bytes on a machine with pages of `pageSize` bytes, or nil if that does not fit
    /// in 64 bits. The parser already rejects `K`, `M` and `G` sizes that overflow, so only a size
    /// in pages can fail here.
    public func bytes(pageSize: UInt64) -> UInt64? {
        let unitBytes: UInt64 = switch unit {
        case .bytes: 1
        case .pages: pageSize
        case .kib: 1 << 10
        case .mib: 1 << 20
        case .gib: 1 << 30
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: unitBytes)
        return overflow ? nil : product
    }
}

/// One `+SIZE` or `-SIZE` term of an ADDR.
public struct SignedSize: Sendable, Hashable {
    public var negative: Bool
    public var size: Size

    public init(negative: Bool, size: Size) {
        self.negative = negative
        self.size = size
    }
}

/// An ADDR: a variable bound by an earlier line, or a literal address, plus or minus any number
/// of SIZEs (`buf`, `buf+1p+100`, `buf-4K`, `0x10000+1p`). The variable is looked up when the
/// line runs, not when it is parsed, because the thread that binds it may not have run yet.
public struct Address: Sendable, Hashable {
    public enum Base: Sendable, Hashable {
        /// A name bound by `VAR = mmap ...` or `VAR = shmat ...`.
        case variable(String)
        /// A number of bytes.
        case literal(UInt64)
    }

    public var base: Base
    /// The `+`/`-` terms, left to right.
    public var offsets: [SignedSize]
    /// Where the ADDR starts, so an unbound variable or an overflow can be reported at it.
    public var location: SourceLocation

    public init(base: Base, offsets: [SignedSize] = [], location: SourceLocation) {
        self.base = base
        self.offsets = offsets
        self.location = location
    }

    /// `base` (the value of the variable, or the literal) with the offsets applied left to right,
    /// or nil if any step leaves the range of a 64-bit address or a page-unit offset overflows.
    public func applyingOffsets(to base: UInt64, pageSize: UInt64) -> UInt64? {
        var address = base
        for offset in offsets {
            guard let bytes = offset.size.bytes(pageSize: pageSize) else { return nil }
            let (sum, overflow) = offset.negative
                ? address.subtractingReportingOverflow(bytes)
                : address.addingReportingOverflow(bytes)
            if overflow { return nil }
            address = sum
        }
        return address
    }
}

/// A PROT: any of `r`, `w`, `x` in that order, or `none`.
public struct Protection: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let read = Protection(rawValue: 1)
    public static let write = Protection(rawValue: 2)
    public static let execute = Protection(rawValue: 4)
    public static let none: Protection = []

    /// Parses a PROT as the scenario language spells it. The letters must come in `rwx` order so
    /// that each protection has exactly one spelling, the one `procstat -v` prints.
    init?(spelling: String) {
        if spelling == "none" {
            self = []
            return
        }
        var protection: Protection = []
        var rest = Substring(spelling)
        for (letter, bit) in [("r", Protection.read), ("w", .write), ("x", .execute)] where rest.hasPrefix(letter) {
            protection.insert(bit)
            rest = rest.dropFirst()
        }
        guard rest.isEmpty, !protection.isEmpty else { return nil }
        self = protection
    }
}
