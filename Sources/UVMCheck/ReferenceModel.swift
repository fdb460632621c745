// The reference model: what every byte of every address space and file should hold, kept by
// simple rules that know nothing of amaps, objects, pagers, swap or wiring. The runner tells it
// each successful operation; every load and check is compared with it, and a difference is
// BUG data-loss (BUGS.md, the audit's last rule). Like the audit it observes and never changes
// the kernel.
//
// What the model cannot know it marks unknown and does not compare: bytes written by operations
// that raced in a `together` block, anonymous pages given to MADV_FREE (the kernel may or may
// not free them), pages a device DMA'd into, bytes a failed copy may have half-written.

/// A set of bytes addressed by offset: a file, an anonymous region, a shared segment, a device.
public final class ModelStore {
    /// Written bytes by page; missing pages read as `base(offset)`.
    private var pages: [UInt64: [UInt8]] = [:]
    private var unknown: Set<UInt64> = []
    private let pageSize: Int
    /// Bytes below `filled` start as `fill`; all others as zero.
    private var fill: UInt8
    private var filled: UInt64
    /// A file's size (nil for memory).
    public internal(set) var size: UInt64?

    init(pageSize: Int, fill: UInt8 = 0, filled: UInt64 = 0, size: UInt64? = nil) {
        self.pageSize = pageSize
        self.fill = fill
        self.filled = filled
        self.size = size
    }

    func copy() -> ModelStore {
        let c = ModelStore(pageSize: pageSize, fill: fill, filled: filled, size: size)
        c.pages = pages
        c.unknown = unknown
        return c
    }

    private func split(_ off: UInt64) -> (UInt64, Int) { (off / UInt64(pageSize), Int(off % UInt64(pageSize))) }
    private func base(_ off: UInt64) -> UInt8 { off < filled ? fill : 0 }

    /// The byte at `off`, or nil if unknown.
    func read(_ off: UInt64) -> UInt8? {
        let (p, i) = split(off)
        if unknown.contains(p) { return nil }
        return pages[p]?[i] ?? base(off)
    }

    func write(_ off: UInt64, _ b: UInt8) {
        let (p, i) = split(off)
        if pages[p] == nil {
            let start = p * UInt64(pageSize)
            pages[p] = (0..<UInt64(pageSize)).map { base(start + $0) }
        }
        pages[p]![i] = b
    }

    /// Stores `len` copies of `b` from `off`, a page at a time.
    func fill(_ off: UInt64, _ len: UInt64, _ b: UInt8) {
        var at = off
        while at < off + len {
            let (p, i) = split(at)
            let n = min(UInt64(pageSize - i), off + len - at)
            write(at, b)  // creates the page (and clears an unknown mark if written whole below)
            pages[p]!.withUnsafeMutableBufferPointer { buf in for j in i..<(i + Int(n)) { buf[j] = b } }
            if n == UInt64(pageSize) { unknown.remove(p) }
            at += n
        }
    }

    /// The first offset in [off, off+len) whose known byte is not `b`.
    func firstDifference(_ off: UInt64, _ len: UInt64, from b: UInt8) -> UInt64? {
        var at = off
        while at < off + len {
            let (p, i) = split(at)
            let n = Int(min(UInt64(pageSize - i), off + len - at))
            if !unknown.contains(p) {
                if let page = pages[p] {
                    if let j = page.withUnsafeBufferPointer({ buf in (i..<(i + n)).first { buf[$0] != b } }) {
                        return p * UInt64(pageSize) + UInt64(j)
                    }
                } else if let j = (0..<n).first(where: { base(at + UInt64($0)) != b }) {
                    return at + UInt64(j)
                }
            }
            at += UInt64(n)
        }
        return nil
    }

    func forget(_ off: UInt64, _ len: UInt64) {
        guard len > 0 else { return }
        let (first, _) = split(off), (last, _) = split(off + len - 1)
        for p in first...last {
            unknown.insert(p)
            pages[p] = nil
        }
    }

    /// The file shrinks or grows: bytes past the new end are gone, and read as zeros if it grows.
    func resize(_ newSize: UInt64) {
        let old = size ?? 0
        filled = min(filled, newSize)
        if newSize < old {
            for (p, _) in pages where (p + 1) * UInt64(pageSize) > newSize {
                for off in max(newSize, p * UInt64(pageSize))..<((p + 1) * UInt64(pageSize)) {
                    pages[p]![Int(off % UInt64(pageSize))] = 0
                }
            }
        } else if newSize > old {
            // Bytes a mapping stored past the old end are not file data (POSIX ftruncate).
            let (p, i) = split(old)
            if i != 0, pages[p] != nil { for j in i..<pageSize { pages[p]![j] = 0 } }
        }
        size = newSize
    }
}

/// A process's view of one mapped range.
public final class ModelRegion {
    enum Backing {
        /// Memory of this region alone, or shared with the regions that hold the same store.
        case memory(ModelStore)
        /// A private view of a file: pages written here (promoted) are in `overlay`; the others
        /// show the file as it is now.
        case privateFile(ModelStore, offset: UInt64, overlay: ModelStore, promoted: PromotedSet)
        /// A shared view of a store at an offset: file, shm segment, device.
        case view(ModelStore, offset: UInt64)
    }
    final class PromotedSet { var pages = Set<UInt64>() }

    var start: UInt64
    var end: UInt64
    /// The address where the region was mapped: a byte's offset in its store is
    /// `va - anchor` (plus the view's offset), whatever splits happened since.
    let anchor: UInt64
    let backing: Backing
    var inheritance: String

    init(start: UInt64, end: UInt64, anchor: UInt64, backing: Backing, inheritance: String) {
        self.start = start
        self.end = end
        self.anchor = anchor
        self.backing = backing
        self.inheritance = inheritance
    }

    func piece(_ lo: UInt64, _ hi: UInt64) -> ModelRegion {
        ModelRegion(start: lo, end: hi, anchor: anchor, backing: backing, inheritance: inheritance)
    }
}

/// The model of the whole machine.
public final class ReferenceModel {
    let pageSize: Int
    private var files: [String: ModelStore] = [:]
    private var devices: [String: ModelStore] = [:]
    private var segments: [Int: ModelStore] = [:]
    private var spaces: [String: [ModelRegion]] = [:]
    /// Operations inside a `together` block: their writes race, so what they write is unknown;
    /// so is whatever a fork in the block copied (a racing store may or may not be in it).
    public var racing = false {
        didSet {
            if !racing {
                for child in forkedWhileRacing { forgetAll(child) }
                forkedWhileRacing.removeAll()
            }
        }
    }
    private var forkedWhileRacing: [String] = []

    private func forgetAll(_ p: String) {
        for r in regions(p) { forget(p, r.start, r.end - r.start) }
    }

    public init(pageSize: Int) { self.pageSize = pageSize }

    // MARK: Set-up

    public func file(_ name: String, size: UInt64, fill: UInt8) {
        files[name] = ModelStore(pageSize: pageSize, fill: fill, filled: size, size: size)
    }

    public func device(_ name: String, pattern: UInt8) {
        devices[name] = ModelStore(pageSize: pageSize, fill: pattern, filled: .max)
    }

    // MARK: Address spaces

    private func regions(_ p: String) -> [ModelRegion] { spaces[p] ?? [] }

    /// Splits the process's regions at `lo` and `hi`; returns the regions inside [lo, hi).
    @discardableResult
    private func split(_ p: String, _ lo: UInt64, _ hi: UInt64) -> [ModelRegion] {
        var out: [ModelRegion] = []
        for r in regions(p) {
            var pieces = [r]
            for cut in [lo, hi] {
                pieces = pieces.flatMap { x in x.start < cut && cut < x.end ? [x.piece(x.start, cut), x.piece(cut, x.end)] : [x] }
            }
            out += pieces
        }
        spaces[p] = out
        return out.filter { $0.start >= lo && $0.end <= hi }
    }

    /// Removes [lo, hi) from the process's regions.
    public func unmap(_ p: String, _ lo: UInt64, _ hi: UInt64) {
        split(p, lo, hi)
        spaces[p] = regions(p).filter { $0.end <= lo || $0.start >= hi }
    }

    private func add(_ p: String, _ lo: UInt64, _ hi: UInt64, _ b: ModelRegion.Backing, _ inh: String) {
        unmap(p, lo, hi)
        spaces[p, default: []].append(ModelRegion(start: lo, end: hi, anchor: lo, backing: b, inheritance: inh))
    }

    public func mapAnon(_ p: String, _ lo: UInt64, _ hi: UInt64, shared: Bool) {
        add(p, lo, hi, .memory(ModelStore(pageSize: pageSize)), shared ? "share" : "copy")
    }

    public func mapFile(_ p: String, _ name: String, _ lo: UInt64, _ hi: UInt64, offset: UInt64, shared: Bool) {
        guard let f = files[name] else { return }
        if shared {
            add(p, lo, hi, .view(f, offset: offset), "share")
        } else {
            add(p, lo, hi, .privateFile(f, offset: offset, overlay: ModelStore(pageSize: pageSize), promoted: .init()), "copy")
        }
    }

    public func mapDevice(_ p: String, _ name: String, _ lo: UInt64, _ hi: UInt64) {
        guard let d = devices[name] else { return }
        add(p, lo, hi, .view(d, offset: 0), "share")
    }

    public func shmget(_ id: Int) { segments[id] = ModelStore(pageSize: pageSize) }

    public func shmat(_ p: String, _ id: Int, _ lo: UInt64, _ hi: UInt64) {
        guard let s = segments[id] else { return }
        add(p, lo, hi, .view(s, offset: 0), "share")
    }

    public func minherit(_ p: String, _ lo: UInt64, _ hi: UInt64, _ inh: String) {
        for r in split(p, lo, hi) { r.inheritance = inh }
    }

    public func fork(_ parent: String, _ child: String) {
        var out: [ModelRegion] = []
        for r in regions(parent) {
            let c: ModelRegion
            switch (r.inheritance, r.backing) {
            case ("none", _):
                continue
            case ("share", _):
                c = r.piece(r.start, r.end)
            case (_, .memory(let s)):
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor, backing: .memory(s.copy()), inheritance: r.inheritance)
            case (_, .privateFile(let f, let off, let ov, let pr)):
                let prc = ModelRegion.PromotedSet()
                prc.pages = pr.pages
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor,
                                backing: .privateFile(f, offset: off, overlay: ov.copy(), promoted: prc), inheritance: r.inheritance)
            case (_, .view(let f, let off)):
                // A shared mapping inherited as copy: a private view of it from now on.
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor,
                                backing: .privateFile(f, offset: off, overlay: ModelStore(pageSize: pageSize), promoted: .init()),
                                inheritance: r.inheritance)
            }
            out.append(c)
        }
        spaces[child] = out
        if racing { forkedWhileRacing.append(child) }
    }

    public func clear(_ p: String) { spaces[p] = [] }

    // MARK: Bytes

    private func region(_ p: String, _ va: UInt64) -> ModelRegion? {
        regions(p).first { $0.start <= va && va < $0.end }
    }

    /// What a load of `va` should see: a byte, nil when unknown, or nil when the model has no
    /// opinion (unmapped, past end of file: the kernel's signal is checked by expectations).
    public func read(_ p: String, _ va: UInt64) -> UInt8? {
        guard let r = region(p, va) else { return nil }
        return read(r, va)
    }

    private func read(_ r: ModelRegion, _ va: UInt64) -> UInt8? {
        let off = va - r.anchor
        switch r.backing {
        case .memory(let s):
            return s.read(off)
        case .view(let s, let base):
            if let size = s.size, base + off >= size { return nil }
            return s.read(base + off)
        case .privateFile(let f, let base, let ov, let pr):
            if pr.pages.contains(off / UInt64(pageSize)) { return ov.read(off) }
            if let size = f.size, base + off >= size { return nil }
            return f.read(base + off)
        }
    }

    public func write(_ p: String, _ va: UInt64, _ b: UInt8) {
        guard let r = region(p, va) else { return }
        let off = va - r.anchor
        switch r.backing {
        case .memory(let s):
            racing ? s.forget(off, 1) : s.write(off, b)
        case .view(let s, let base):
            if let size = s.size, base + off >= size { s.forget(base + off, 1); return }
            racing ? s.forget(base + off, 1) : s.write(base + off, b)
        case .privateFile(let f, let base, let ov, let pr):
            let page = off / UInt64(pageSize)
            if !pr.pages.contains(page) {
                // Promotion copies the file's page as it is now.
                pr.pages.insert(page)
                let start = page * UInt64(pageSize)
                for i in 0..<UInt64(pageSize) {
                    if let v = f.read(base + start + i), f.size.map({ base + start + i < $0 }) ?? true {
                        ov.write(start + i, v)
                    } else if f.read(base + start + i) == nil {
                        ov.forget(start + i, 1)
                    }
                }
            }
            racing ? ov.forget(off, 1) : ov.write(off, b)
        }
    }

    /// The first offset in [va, va+len) where a known byte differs from `b` (or, for the last
    /// byte, from `last` when given): where a `check` result disagrees with the model.
    public func firstDifference(_ p: String, _ va: UInt64, _ len: UInt64, from b: UInt8, last: UInt8?) -> UInt64? {
        guard len > 0 else { return nil }
        // The last byte is compared on its own when the kernel showed a different one there.
        let body = last == nil ? len : len - 1
        var at = va
        while at < va + body {
            guard let r = region(p, at) else { at += 1; continue }
            let n = min(va + body, r.end) - at
            let off = at - r.anchor
            let found: UInt64? = switch r.backing {
            case .memory(let s): s.firstDifference(off, n, from: b).map { $0 - off }
            default: (0..<n).first { i in read(r, at + i).map { $0 != b } ?? false }
            }
            if let i = found { return at - va + i }
            at += n
        }
        if let last, let v = read(p, va + len - 1), v != last { return len - 1 }
        return nil
    }

    /// The bytes of [va, va+len) as the model sees them (nil where unknown or unmapped).
    public func read(_ p: String, _ va: UInt64, count len: UInt64) -> [UInt8?] {
        var out: [UInt8?] = []
        out.reserveCapacity(Int(len))
        let rs = regions(p)
        var at = va
        while at < va + len {
            guard let r = rs.first(where: { $0.start <= at && at < $0.end }) else { out.append(nil); at += 1; continue }
            let end = min(va + len, r.end)
            while at < end { out.append(read(r, at)); at += 1 }
        }
        return out
    }

    /// Stores `len` copies of `b` at `va` (fill, a device read, sysctl's copy-out).
    public func fill(_ p: String, _ va: UInt64, _ len: UInt64, _ b: UInt8) {
        if racing { forget(p, va, len); return }
        var at = va
        while at < va + len {
            guard let r = region(p, at) else { at += 1; continue }
            let n = min(va + len, r.end) - at
            switch r.backing {
            case .memory(let s): s.fill(at - r.anchor, n, b)
            case .view(let s, let base) where s.size == nil || base + (at - r.anchor) + n <= s.size!:
                s.fill(base + (at - r.anchor), n, b)
            default:
                for i in 0..<n { write(p, at + i, b) }
            }
            at += n
        }
    }

    /// Bytes of [va, va+len) become unknown (DMA, MADV_FREE, a failed copy).
    public func forget(_ p: String, _ va: UInt64, _ len: UInt64) {
        var at = va
        while at < va + len {
            guard let r = region(p, at) else { at += 1; continue }
            let off = at - r.anchor
            let n = min(va + len, r.end) - at
            switch r.backing {
            case .memory(let s): s.forget(off, n)
            case .view(let s, let base): s.forget(base + off, n)
            case .privateFile(_, _, let ov, let pr):
                for pg in (off / UInt64(pageSize))...((off + n - 1) / UInt64(pageSize)) { pr.pages.insert(pg) }
                ov.forget(off, n)
            }
            at += n
        }
    }

    // MARK: Files

    public func fileRead(_ name: String, _ off: UInt64) -> UInt8? { files[name]?.read(off) }
    public func fileSize(_ name: String) -> UInt64? { files[name]?.size }

    public func fileWrite(_ name: String, _ off: UInt64, _ bytes: [UInt8?]) {
        guard let f = files[name] else { return }
        let end = off + UInt64(bytes.count)
        if end > f.size ?? 0 { f.resize(end) }
        for (i, b) in bytes.enumerated() {
            if let b, !racing { f.write(off + UInt64(i), b) } else { f.forget(off + UInt64(i), 1) }
        }
    }

    public func truncate(_ name: String, _ size: UInt64) {
        guard let f = files[name] else { return }
        if racing {
            // Racing loads may see the old or the new size: forget the bytes between them.
            let lo = min(size, f.size ?? 0), hi = max(size, f.size ?? 0)
            f.resize(size)
            f.forget(lo, hi - lo + UInt64(pageSize))
        } else {
            f.resize(size)
        }
    }
}
