// The reference model: what every byte of every address space and file should hold, kept by simple
// rules that know nothing of amaps, objects, pagers, swap or wiring. The runner tells it each
// successful operation; every load and check is compared with it, and a difference is BUG data-loss
// (docs/wiring.md, *The reference model*). Like the audit it observes and never changes the kernel.
//
// What the model cannot know it marks unknown and does not compare: bytes written by operations
// that raced in a `together` block, anonymous pages given to MADV_FREE (the kernel may or may
// not free them), pages a device DMA'd into, bytes a failed copy may have half-written.
//
// Cost follows use: a range is walked only where a region maps it and only as far as bytes
// were stored; a byte range near 2^64 is cut at 2^64 instead of wrapping.

import UVMMachine

/// `a + b`, or the top of the address space when that does not fit in 64 bits.
@inline(__always) public func saturatingEnd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}

/// A set of page numbers kept as sorted, disjoint, non-adjacent ranges, so marking a terabyte
/// costs one range.
struct PageRanges {
    private var ranges: [Range<UInt64>] = []

    /// The index of the first range that ends at or after `p`.
    private func firstEnding(atOrAfter p: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < p { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func contains(_ p: UInt64) -> Bool {
        let i = firstEnding(atOrAfter: p)
        return i < ranges.count && ranges[i].contains(p)
    }

    mutating func insert(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        let i = firstEnding(atOrAfter: r.lowerBound)
        var j = i
        var merged = r
        while j < ranges.count && ranges[j].lowerBound <= r.upperBound {
            merged = min(merged.lowerBound, ranges[j].lowerBound)..<max(merged.upperBound, ranges[j].upperBound)
            j += 1
        }
        ranges.replaceSubrange(i..<j, with: [merged])
    }

    mutating func remove(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        let i = firstEnding(atOrAfter: r.lowerBound)
        var j = i
        var kept: [Range<UInt64>] = []
        while j < ranges.count && ranges[j].lowerBound < r.upperBound {
            let x = ranges[j]
            if x.lowerBound < r.lowerBound { kept.append(x.lowerBound..<min(x.upperBound, r.lowerBound)) }
            if x.upperBound > r.upperBound { kept.append(r.upperBound..<x.upperBound) }
            j += 1
        }
        ranges.replaceSubrange(i..<j, with: kept)
    }
}

/// A set of bytes addressed by offset: a file, an anonymous region, a shared segment, a device.
public final class ModelStore {
    /// Bytes per stored chunk: the model keeps what was written as sparsely as the kernel's
    /// pages do (`PageContents.chunkSize`), so a store costs a chunk, not a page.
    private static let chunkSize = UInt64(PageContents.chunkSize)
    /// Written bytes by chunk number; missing chunks read as `base(offset)`.
    private var chunks: [UInt64: [UInt8]] = [:]
    /// Pages whose bytes are unknown (a race wrote them, or might have).
    private var unknown = PageRanges()
    private let pageSize: Int
    /// Bytes below `filled` start as `fill`; all others as zero.
    private var fill: UInt8
    private var filled: UInt64
    /// A file's size (nil for memory).
    public internal(set) var size: UInt64?

    /// The model's record of the `together` block in progress (`BlockLog`), shared by every store.
    let log: BlockLog

    init(log: BlockLog, pageSize: Int, fill: UInt8 = 0, filled: UInt64 = 0, size: UInt64? = nil) {
        self.log = log
        self.pageSize = pageSize
        self.fill = fill
        self.filled = filled
        self.size = size
    }

    func copy() -> ModelStore {
        let c = ModelStore(log: log, pageSize: pageSize, fill: fill, filled: filled, size: size)
        c.chunks = chunks
        c.unknown = unknown
        return c
    }

    private func page(_ off: UInt64) -> UInt64 { off / UInt64(pageSize) }
    private func base(_ off: UInt64) -> UInt8 { off < filled ? fill : 0 }

    /// The byte at `off`, or nil if unknown.
    func read(_ off: UInt64) -> UInt8? {
        if unknown.contains(page(off)) { return nil }
        return chunks[off / Self.chunkSize]?[Int(off % Self.chunkSize)] ?? base(off)
    }

    func write(_ off: UInt64, _ b: UInt8) {
        fill(off, 1, b)
    }

    /// Stores `bytes` from `off`, a chunk at a time; a page written whole is known again.
    func write(_ off: UInt64, _ bytes: ArraySlice<UInt8>) {
        let end = saturatingEnd(off, UInt64(bytes.count))
        var at = off, from = bytes.startIndex
        while at < end {
            let c = at / Self.chunkSize, i = Int(at % Self.chunkSize)
            let n = Int(min(Self.chunkSize - UInt64(i), end - at))
            if n == Int(Self.chunkSize) {
                chunks[c] = Array(bytes[from..<(from + n)])
            } else {
                chunks[c, default: baseChunk(c)].replaceSubrange(i..<(i + n), with: bytes[from..<(from + n)])
            }
            at += UInt64(n)
            from += n
        }
        knowWholePages(off, end)
    }

    /// Stores `len` copies of `b` from `off`; a page written whole is known again.
    func fill(_ off: UInt64, _ len: UInt64, _ b: UInt8) {
        let end = saturatingEnd(off, len)
        var at = off
        while at < end {
            let c = at / Self.chunkSize, i = Int(at % Self.chunkSize)
            let n = Int(min(Self.chunkSize - UInt64(i), end - at))
            if n == Int(Self.chunkSize) {
                chunks[c] = Array(repeating: b, count: n)
            } else {
                chunks[c, default: baseChunk(c)].withUnsafeMutableBufferPointer { buf in
                    for j in i..<(i + n) { buf[j] = b }
                }
            }
            at += UInt64(n)
        }
        knowWholePages(off, end)
    }

    /// The pages [off, end) covers whole are known again: every byte of them was just stored.
    private func knowWholePages(_ off: UInt64, _ end: UInt64) {
        let ps = UInt64(pageSize)
        let firstWhole = (off + ps - 1) / ps, pastWhole = end / ps
        if firstWhole < pastWhole { unknown.remove(firstWhole..<pastWhole) }
    }

    /// The bytes of the page at `page` if all are known (`BlockLog` keeps them when a block first
    /// forgets the page).
    func knownBytes(ofPage page: UInt64) -> [UInt8]? {
        guard !unknown.contains(page) else { return nil }
        let first = page * UInt64(pageSize) / Self.chunkSize
        return (first..<(first + UInt64(pageSize) / Self.chunkSize)).flatMap(chunk)
    }

    /// The page at `page` holds `bytes` and is known again.
    func restore(page: UInt64, _ bytes: [UInt8]) {
        let first = page * UInt64(pageSize) / Self.chunkSize, n = Int(Self.chunkSize)
        for k in 0..<(pageSize / n) { chunks[first + UInt64(k)] = Array(bytes[(k * n)..<((k + 1) * n)]) }
        unknown.remove(page..<(page + 1))
    }

    /// Chunk `c` as it reads: what was stored there, or its base bytes.
    private func chunk(_ c: UInt64) -> [UInt8] { chunks[c] ?? baseChunk(c) }

    /// Chunk `c` as it reads before anything is stored in it: `fill` below `filled`, zeros above.
    private func baseChunk(_ c: UInt64) -> [UInt8] {
        let start = c * Self.chunkSize
        let filledHere = Int(min(Self.chunkSize, filled > start ? filled - start : 0))
        var chunk = [UInt8](repeating: 0, count: Int(Self.chunkSize))
        for j in 0..<filledHere { chunk[j] = fill }
        return chunk
    }

    /// Whether every byte of the page at `off` (page-aligned) is known and inside the store.
    func knowsPage(at off: UInt64) -> Bool {
        !unknown.contains(page(off)) && saturatingEnd(off, UInt64(pageSize)) <= size ?? .max
    }

    /// Stores the bytes of `src`'s page at `srcOff` at `off` (both page-aligned), a chunk at a
    /// time; the page's known or unknown mark here does not change, as byte stores leave it.
    func copyPage(to off: UInt64, from src: ModelStore, at srcOff: UInt64) {
        let n = UInt64(pageSize) / Self.chunkSize
        let dst = off / Self.chunkSize, from = srcOff / Self.chunkSize
        for k in 0..<n { chunks[dst + k] = src.chunk(from + k) }
    }

    /// The first offset in [off, off+len) whose known byte is not `b`.
    func firstDifference(_ off: UInt64, _ len: UInt64, from b: UInt8) -> UInt64? {
        let end = saturatingEnd(off, len)
        var at = off
        while at < end {
            let c = at / Self.chunkSize, i = Int(at % Self.chunkSize)
            let n = Int(min(Self.chunkSize - UInt64(i), end - at))
            if !unknown.contains(page(at)) {
                if let chunk = chunks[c] {
                    if let j = chunk.withUnsafeBufferPointer({ buf in (i..<(i + n)).first { buf[$0] != b } }) {
                        return c * Self.chunkSize + UInt64(j)
                    }
                } else if let j = (0..<n).first(where: { base(at + UInt64($0)) != b }) {
                    return at + UInt64(j)
                }
            }
            at += UInt64(n)
        }
        return nil
    }

    /// Bytes of [off, off+len) become unknown, a whole page at a time.
    func forget(_ off: UInt64, _ len: UInt64) {
        guard len > 0 else { return }
        let first = page(off), last = page(saturatingEnd(off, len) - 1)
        if log.active { log.forgetting(self, pages: first..<(last + 1)) }
        unknown.insert(first..<(last + 1))
        let (end, wraps) = (last + 1).multipliedReportingOverflow(by: UInt64(pageSize))
        drop(from: first * UInt64(pageSize), to: wraps ? .max : end)
    }

    /// Forgets the chunks stored in [from, to), walking whichever is smaller: the stored chunks
    /// or the range's.
    private func drop(from: UInt64, to: UInt64) {
        let first = from / Self.chunkSize, past = to / Self.chunkSize
        guard first < past else { return }
        if UInt64(chunks.count) < past - first {
            for c in chunks.keys where c >= first && c < past { chunks[c] = nil }
        } else {
            for c in first..<past { chunks[c] = nil }
        }
    }

    /// Zeroes the stored bytes of [from, to), which lies within one page.
    private func zero(from: UInt64, to: UInt64) {
        var at = from
        while at < to {
            let c = at / Self.chunkSize, i = Int(at % Self.chunkSize)
            let n = Int(min(Self.chunkSize - UInt64(i), to - at))
            if chunks[c] != nil { for j in i..<(i + n) { chunks[c]![j] = 0 } }
            at += UInt64(n)
        }
    }

    /// The file shrinks or grows: bytes past the new end are gone, and read as zeros if it grows.
    func resize(_ newSize: UInt64) {
        let old = size ?? 0
        let ps = UInt64(pageSize)
        if log.active { log.conflict(self, pages: page(min(old, newSize))..<UInt64.max) }
        filled = min(filled, newSize)
        if newSize < old {
            // Stored bytes past the new end read as zeros: the tail of its page is zeroed, the
            // chunks wholly past it (base zero there now) dropped.
            let pageEnd = saturatingEnd(newSize / ps * ps, ps)
            zero(from: newSize, to: pageEnd)
            drop(from: pageEnd, to: .max)
        } else if newSize > old, old % ps != 0 {
            // Bytes a mapping stored past the old end are not file data (POSIX ftruncate).
            zero(from: old, to: old / ps * ps + ps)
        }
        size = newSize
    }
}

/// What a `together` block did to the model's stores, so that its end can know again the
/// bytes only a store or fill of the block wrote. Inside a block the model forgets whatever an
/// operation writes (it cannot tell the order of racing writes); but a byte that exactly one
/// kind of constant write reached, whose page nothing else touched, holds that value once the
/// block is over, whatever the order: a store the kernel lost meanwhile (a page freed under a
/// racing write-back) is then seen after the block. A page is known again only when every
/// forget of it in the block was one of those writes, resolved to the same bytes when the
/// operation started and when it returned, and its bytes before the block were known.
final class BlockLog {
    /// Inside a block.
    var active = false
    /// The forget in progress is a constant write's, recorded by its caller, not a conflict.
    var constantWrite = false
    /// Pages of each store that something other than a constant write forgot or changed. Every
    /// record holds its store, so that no store of the block is freed and its identity reused.
    private var conflicts: [ObjectIdentifier: (store: ModelStore, pages: PageRanges)] = [:]
    /// Each store's pages as they were before the block first forgot them (small forgets only:
    /// a gigabyte forgotten is not kept).
    private var saved: [ObjectIdentifier: (store: ModelStore, pages: [UInt64: [UInt8]])] = [:]
    /// Constant writes: where each operation aimed when it started, and where it wrote when it
    /// returned, with its byte.
    private var starts: [(op: Int, store: ModelStore, lo: UInt64, hi: UInt64)] = []
    private var writes: [(op: Int, store: ModelStore, lo: UInt64, hi: UInt64, value: UInt8)] = []
    /// The process of each constant write.
    private var writers: [Int: String] = [:]
    /// Processes whose mappings changed in the block. The model hears of a change when its
    /// call returns, which may be after the kernel's store went through the new mapping: a
    /// write of such a process names its bytes only as the model saw them, so it counts for
    /// nothing.
    var remapped: Set<String> = []
    private var nextOp = 0
    /// Pages a forget keeps for later: more than this in one forget is not kept.
    private static let keptPagesPerForget: UInt64 = 16

    func begin() {
        active = true
        forgetBlock()
    }

    /// Drops what the last block recorded.
    private func forgetBlock() {
        conflicts = [:]
        saved = [:]
        starts = []
        writes = []
        writers = [:]
        remapped = []
    }

    /// A new constant write's number, by process `p`.
    func newOperation(by p: String) -> Int {
        nextOp += 1
        writers[nextOp] = p
        return nextOp
    }

    /// `store` is about to forget `pages`: the first time in the block, their bytes are kept.
    func forgetting(_ store: ModelStore, pages: Range<UInt64>) {
        if !constantWrite { conflict(store, pages: pages) }
        guard UInt64(pages.count) <= Self.keptPagesPerForget else { return }
        let id = ObjectIdentifier(store)
        for page in pages where saved[id]?.pages[page] == nil {
            guard let bytes = store.knownBytes(ofPage: page) else { continue }
            saved[id, default: (store, [:])].pages[page] = bytes
        }
    }

    func conflict(_ store: ModelStore, pages: Range<UInt64>) {
        conflicts[ObjectIdentifier(store), default: (store, PageRanges())].pages.insert(pages)
    }

    func started(_ op: Int, _ store: ModelStore, _ lo: UInt64, _ hi: UInt64) {
        starts.append((op, store, lo, hi))
    }

    func wrote(_ op: Int, _ store: ModelStore, _ lo: UInt64, _ hi: UInt64, _ value: UInt8) {
        writes.append((op, store, lo, hi, value))
    }

    /// The block is over: every kept page that only constant writes forgot, each write matching
    /// its start, is known again with the bytes it had and the values written over them.
    func end(pageSize: Int) {
        active = false
        let ps = UInt64(pageSize)
        for (id, kept) in saved {
            for (page, before) in kept.pages where !(conflicts[id]?.pages.contains(page) ?? false) {
                let lo = page * ps, hi = lo + ps
                let here = writes.filter { $0.store === kept.store && $0.lo < hi && $0.hi > lo }
                let began = starts.filter { $0.store === kept.store && $0.lo < hi && $0.hi > lo }
                guard !here.isEmpty,
                      !began.contains(where: { remapped.contains(writers[$0.op] ?? "") }),
                      !here.contains(where: { remapped.contains(writers[$0.op] ?? "") }),
                      began.allSatisfy({ s in here.contains { $0.op == s.op && $0.lo == s.lo && $0.hi == s.hi } }),
                      here.allSatisfy({ w in began.contains { $0.op == w.op && $0.lo == w.lo && $0.hi == w.hi } })
                else { continue }
                var bytes = before
                var consistent = true
                for (k, w) in here.enumerated() {
                    let a = max(w.lo, lo), b = min(w.hi, hi)
                    // Two writes of different values over one byte: the order decides it.
                    if here[..<k].contains(where: { $0.value != w.value && $0.lo < b && $0.hi > a }) {
                        consistent = false
                        break
                    }
                    bytes.replaceSubrange(Int(a - lo)..<Int(b - lo), with: repeatElement(w.value, count: Int(b - a)))
                }
                if consistent { kept.store.restore(page: page, bytes) }
            }
        }
        forgetBlock()
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
    /// Page numbers (from the anchor) of a private file view that are the process's own copy.
    final class PromotedSet {
        var pages = PageRanges()
        init(_ pages: PageRanges = PageRanges()) { self.pages = pages }
    }

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

    /// The offset in a view's store of the byte at `va`, nil past 2^64 (a store has no such byte).
    static func storeOffset(_ base: UInt64, _ off: UInt64) -> UInt64? {
        let (o, overflow) = base.addingReportingOverflow(off)
        return overflow ? nil : o
    }
}

/// The model of the whole machine.
public final class ReferenceModel {
    let pageSize: Int
    private var files: [String: ModelStore] = [:]
    private var devices: [String: ModelStore] = [:]
    private var segments: [Int: ModelStore] = [:]
    /// Each process's regions, sorted by address and disjoint, so a line costs a binary search
    /// and not a walk of every mapping.
    private var spaces: [String: [ModelRegion]] = [:]
    /// Operations inside a `together` block: their writes race, so what they write is unknown;
    /// so is whatever a fork in the block copied (a racing store may or may not be in it).
    public var racing = false {
        didSet {
            guard racing != oldValue else { return }
            if racing {
                blockLog.begin()
            } else {
                blockLog.end(pageSize: pageSize)
                for child in forkedWhileRacing { forgetAll(child) }
                forkedWhileRacing.removeAll()
            }
        }
    }
    /// What the block in progress did to the stores (`BlockLog`).
    private let blockLog = BlockLog()
    private var forkedWhileRacing: [String] = []

    private func forgetAll(_ p: String) {
        for r in regions(p) { forget(p, r.start, r.end - r.start) }
    }

    public init(pageSize: Int) { self.pageSize = pageSize }

    // MARK: Set-up

    public func file(_ name: String, size: UInt64, fill: UInt8) {
        files[name] = ModelStore(log: blockLog, pageSize: pageSize, fill: fill, filled: size, size: size)
    }

    public func device(_ name: String, pattern: UInt8) {
        devices[name] = ModelStore(log: blockLog, pageSize: pageSize, fill: pattern, filled: .max)
    }

    // MARK: Address spaces

    private func regions(_ p: String) -> [ModelRegion] { spaces[p] ?? [] }

    /// The index of the first of `rs` (sorted) that ends after `va`.
    private static func firstEnding(after va: UInt64, in rs: [ModelRegion]) -> Int {
        var lo = 0, hi = rs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if rs[mid].end <= va { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The indices of the process's regions that overlap [lo, hi), in address order.
    private func overlapping(_ p: String, _ lo: UInt64, _ hi: UInt64) -> Range<Int> {
        let rs = regions(p)
        let i = Self.firstEnding(after: lo, in: rs)
        var j = i
        while j < rs.count && rs[j].start < hi { j += 1 }
        return i..<j
    }

    /// Each region overlapping [va, va+len) with the part of the range it maps, in address order.
    private func pieces(_ p: String, _ va: UInt64, _ len: UInt64) -> [(region: ModelRegion, lo: UInt64, hi: UInt64)] {
        // An empty range touches no region, even inside one.
        guard len > 0 else { return [] }
        let end = saturatingEnd(va, len)
        let rs = regions(p)
        return overlapping(p, va, end).map { (rs[$0], max(va, rs[$0].start), min(end, rs[$0].end)) }
    }

    /// Splits the process's regions at `lo` and `hi`; returns the regions inside [lo, hi).
    @discardableResult
    private func split(_ p: String, _ lo: UInt64, _ hi: UInt64) -> ArraySlice<ModelRegion> {
        guard lo < hi else { return [] }
        for cut in [lo, hi] {
            let i = Self.firstEnding(after: cut, in: regions(p))
            guard i < regions(p).count, regions(p)[i].start < cut else { continue }
            let r = spaces[p]![i]
            spaces[p]!.replaceSubrange(i...i, with: [r.piece(r.start, cut), r.piece(cut, r.end)])
        }
        return regions(p)[overlapping(p, lo, hi)]
    }

    /// Removes [lo, hi) from the process's regions.
    public func unmap(_ p: String, _ lo: UInt64, _ hi: UInt64) {
        if racing { blockLog.remapped.insert(p) }
        split(p, lo, hi)
        let gone = overlapping(p, lo, hi)
        if !gone.isEmpty { spaces[p]!.removeSubrange(gone) }
    }

    private func add(_ p: String, _ lo: UInt64, _ hi: UInt64, _ b: ModelRegion.Backing, _ inh: String) {
        guard lo < hi else { return }
        unmap(p, lo, hi)
        let at = Self.firstEnding(after: lo, in: regions(p))
        spaces[p, default: []].insert(ModelRegion(start: lo, end: hi, anchor: lo, backing: b, inheritance: inh), at: at)
        // Inside `together` another thread may store through the new mapping before the model
        // hears of it (the mapping thread returns later): what the range holds is unknown.
        if racing { forget(p, lo, hi - lo) }
    }

    public func mapAnon(_ p: String, _ lo: UInt64, _ hi: UInt64, shared: Bool) {
        add(p, lo, hi, .memory(ModelStore(log: blockLog, pageSize: pageSize)), shared ? "share" : "copy")
    }

    public func mapFile(_ p: String, _ name: String, _ lo: UInt64, _ hi: UInt64, offset: UInt64, shared: Bool) {
        guard let f = files[name] else { return }
        if shared {
            add(p, lo, hi, .view(f, offset: offset), "share")
        } else {
            add(p, lo, hi, .privateFile(f, offset: offset, overlay: ModelStore(log: blockLog, pageSize: pageSize), promoted: .init()), "copy")
        }
    }

    public func mapDevice(_ p: String, _ name: String, _ lo: UInt64, _ hi: UInt64) {
        guard let d = devices[name] else { return }
        add(p, lo, hi, .view(d, offset: 0), "share")
    }

    public func shmget(_ id: Int) { segments[id] = ModelStore(log: blockLog, pageSize: pageSize) }

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
            case ("zero", _):
                // MAP_INHERIT_ZERO: fresh zero-filled private memory in the child, whatever the
                // parent had there (uvm_map.c: uvm_mapent_forkzero).
                c = ModelRegion(start: r.start, end: r.end, anchor: r.start, backing: .memory(ModelStore(log: blockLog, pageSize: pageSize)),
                                inheritance: r.inheritance)
            case ("share", _):
                c = r.piece(r.start, r.end)
            case (_, .memory(let s)):
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor, backing: .memory(s.copy()), inheritance: r.inheritance)
            case (_, .privateFile(let f, let off, let ov, let pr)):
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor,
                                backing: .privateFile(f, offset: off, overlay: ov.copy(), promoted: .init(pr.pages)),
                                inheritance: r.inheritance)
            case (_, .view(let f, let off)):
                // A shared mapping inherited as copy: a private view of it from now on.
                c = ModelRegion(start: r.start, end: r.end, anchor: r.anchor,
                                backing: .privateFile(f, offset: off, overlay: ModelStore(log: blockLog, pageSize: pageSize), promoted: .init()),
                                inheritance: r.inheritance)
            }
            out.append(c)
        }
        spaces[child] = out
        if racing {
            forkedWhileRacing.append(child)
            blockLog.remapped.insert(child)
        }
    }

    public func clear(_ p: String) {
        if racing { blockLog.remapped.insert(p) }
        spaces[p] = []
    }

    // MARK: Bytes

    private func region(_ p: String, _ va: UInt64) -> ModelRegion? {
        let rs = regions(p)
        let i = Self.firstEnding(after: va, in: rs)
        return i < rs.count && rs[i].start <= va ? rs[i] : nil
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
            guard let at = ModelRegion.storeOffset(base, off), at < s.size ?? .max else { return nil }
            return s.read(at)
        case .privateFile(let f, let base, let ov, let pr):
            if pr.pages.contains(off / UInt64(pageSize)) { return ov.read(off) }
            guard let at = ModelRegion.storeOffset(base, off), at < f.size ?? .max else { return nil }
            return f.read(at)
        }
    }

    /// The page of a private file view at `off` from its anchor becomes the process's own copy
    /// of the file's page as it is now (bytes past the end of the file stay unknown).
    private func promote(_ f: ModelStore, _ base: UInt64, _ ov: ModelStore, _ pr: ModelRegion.PromotedSet, page: UInt64) {
        guard !pr.pages.contains(page) else { return }
        pr.pages.insert(page..<(page + 1))
        let start = page * UInt64(pageSize)
        // A byte unknown or past the end of the file makes the whole page unknown.
        if let at = ModelRegion.storeOffset(base, start), f.knowsPage(at: at) {
            ov.copyPage(to: start, from: f, at: at)
        } else {
            ov.forget(start, UInt64(pageSize))
        }
    }

    /// Inside a block, a store or fill of [va, va+len) is starting: what it reaches is forgotten
    /// (the model hears of it only when it returns), and where it aims is noted for the block's
    /// end (`BlockLog`). Returns the operation's number for `endConstantWrite`.
    public func beginConstantWrite(_ p: String, _ va: UInt64, _ len: UInt64) -> Int {
        let op = blockLog.newOperation(by: p)
        constantWrite(p, va, len) { blockLog.started(op, $0, $1, $2) }
        return op
    }

    /// Inside a block, the store or fill `op` returned having written `b` over [va, va+len).
    public func endConstantWrite(_ op: Int, _ p: String, _ va: UInt64, _ len: UInt64, _ b: UInt8) {
        constantWrite(p, va, len) { blockLog.wrote(op, $0, $1, $2, b) }
    }

    /// Forgets [va, va+len) of `p` as a constant write does, telling `note` the store and the
    /// byte range of each piece it can name exactly: anonymous memory, a view inside its store,
    /// or pages of a private file view already the process's own. Anything else (a page about
    /// to be copied from the file, bytes past the end of a file) is forgotten as a conflict.
    private func constantWrite(_ p: String, _ va: UInt64, _ len: UInt64, _ note: (ModelStore, UInt64, UInt64) -> Void) {
        for (r, lo, hi) in pieces(p, va, len) {
            let off = lo - r.anchor, n = hi - lo
            let target: (ModelStore, UInt64)? = switch r.backing {
            case .memory(let s): (s, off)
            case .view(let s, let base):
                ModelRegion.storeOffset(base, off).flatMap { at in saturatingEnd(at, n) <= s.size ?? .max ? (s, at) : nil }
            case .privateFile(_, _, let ov, let pr):
                (off / UInt64(pageSize)...(off + n - 1) / UInt64(pageSize)).allSatisfy(pr.pages.contains) ? (ov, off) : nil
            }
            guard let (store, at) = target else {
                forget(p, lo, n)
                continue
            }
            note(store, at, at + n)
            blockLog.constantWrite = true
            store.forget(at, n)
            blockLog.constantWrite = false
        }
    }

    public func write(_ p: String, _ va: UInt64, _ b: UInt8) {
        guard let r = region(p, va) else { return }
        let off = va - r.anchor
        switch r.backing {
        case .memory(let s):
            racing ? s.forget(off, 1) : s.write(off, b)
        case .view(let s, let base):
            guard let at = ModelRegion.storeOffset(base, off) else { return }
            if let size = s.size, at >= size { s.forget(at, 1); return }
            racing ? s.forget(at, 1) : s.write(at, b)
        case .privateFile(let f, let base, let ov, let pr):
            // Promotion copies the file's page as it is now.
            promote(f, base, ov, pr, page: off / UInt64(pageSize))
            racing ? ov.forget(off, 1) : ov.write(off, b)
        }
    }

    /// The kernel made the page at `va` of a private file mapping the process's own copy
    /// without a store: a wiring fault at maximum protection (VM_FAULT_WIREMAX in
    /// uvm_fault_wire, or a vslock for a device read). From now on that page no longer follows
    /// the file: truncating and regrowing the file leaves it as it was.
    public func privateCopy(_ p: String, _ va: UInt64) {
        guard let r = region(p, va), case .privateFile(let f, let base, let ov, let pr) = r.backing else { return }
        let page = (va - r.anchor) / UInt64(pageSize)
        let fresh = !pr.pages.contains(page)
        promote(f, base, ov, pr, page: page)
        // Inside `together` the copy may have been taken before or after a racing write to the
        // file reached it: its bytes are not known.
        if fresh && racing { ov.forget(page * UInt64(pageSize), UInt64(pageSize)) }
    }

    /// The first offset in [va, va+len) where a known byte differs from `b` (or, for the last
    /// byte, from `last` when given): where a `check` result disagrees with the model.
    public func firstDifference(_ p: String, _ va: UInt64, _ len: UInt64, from b: UInt8, last: UInt8?) -> UInt64? {
        guard len > 0 else { return nil }
        // The last byte is compared on its own when the kernel showed a different one there.
        let body = last == nil ? len : len - 1
        for (r, lo, hi) in pieces(p, va, body) {
            let off = lo - r.anchor
            let found: UInt64? = switch r.backing {
            case .memory(let s): s.firstDifference(off, hi - lo, from: b).map { $0 - off }
            default: (0..<(hi - lo)).first { i in read(r, lo + i).map { $0 != b } ?? false }
            }
            if let i = found { return lo - va + i }
        }
        if let last, let v = read(p, va + len - 1), v != last { return len - 1 }
        return nil
    }

    /// The bytes of [va, va+len) as the model sees them (nil where unknown or unmapped). The
    /// caller passes a length the kernel really copied.
    public func read(_ p: String, _ va: UInt64, count len: UInt64) -> [UInt8?] {
        var out: [UInt8?] = []
        var at = va
        for (r, lo, hi) in pieces(p, va, len) {
            out += repeatElement(nil, count: Int(lo - at))
            out += (lo..<hi).map { read(r, $0) }
            at = hi
        }
        out += repeatElement(nil, count: Int(saturatingEnd(va, len) - at))
        return out
    }

    /// Stores `len` copies of `b` at `va` (fill, a device read, sysctl's copy-out).
    public func fill(_ p: String, _ va: UInt64, _ len: UInt64, _ b: UInt8) {
        if racing { forget(p, va, len); return }
        for (r, lo, hi) in pieces(p, va, len) {
            let off = lo - r.anchor
            switch r.backing {
            case .memory(let s):
                s.fill(off, hi - lo, b)
            case .view(let s, let base):
                // Bytes past the end of the store are not its data; past 2^64 there are none.
                guard let at = ModelRegion.storeOffset(base, off) else { continue }
                let len = hi - lo
                let inside = min(len, (s.size ?? .max) > at ? (s.size ?? .max) - at : 0)
                if inside > 0 { s.fill(at, inside, b) }
                if inside < len { s.forget(at + inside, len - inside) }
            case .privateFile(let f, let base, let ov, let pr):
                // Each page becomes the process's own copy before the store reaches it.
                guard hi > lo else { continue }
                let ps = UInt64(pageSize)
                for page in (off / ps)...((off + (hi - lo) - 1) / ps) { promote(f, base, ov, pr, page: page) }
                ov.fill(off, hi - lo, b)
            }
        }
    }

    /// Bytes of [va, va+len) become unknown (DMA, MADV_FREE, a failed copy).
    public func forget(_ p: String, _ va: UInt64, _ len: UInt64) {
        for (r, lo, hi) in pieces(p, va, len) {
            let off = lo - r.anchor
            switch r.backing {
            case .memory(let s):
                s.forget(off, hi - lo)
            case .view(let s, let base):
                if let at = ModelRegion.storeOffset(base, off) { s.forget(at, hi - lo) }
            case .privateFile(_, _, let ov, let pr):
                pr.pages.insert((off / UInt64(pageSize))..<((off + (hi - lo) - 1) / UInt64(pageSize) + 1))
                ov.forget(off, hi - lo)
            }
        }
    }

    // MARK: Files

    public func fileRead(_ name: String, _ off: UInt64) -> UInt8? { files[name]?.read(off) }

    public func fileWrite(_ name: String, _ off: UInt64, _ bytes: [UInt8?]) {
        guard let f = files[name], !bytes.isEmpty else { return }
        let end = off + UInt64(bytes.count)
        if end > f.size ?? 0 { f.resize(end) }
        guard !racing else { return f.forget(off, UInt64(bytes.count)) }
        // Known bytes are stored and unknown ones forgotten a run at a time: byte by byte, a
        // page's write cost thousands of dictionary lookups.
        var i = 0
        while i < bytes.count {
            let known = bytes[i] != nil
            var j = i + 1
            while j < bytes.count && (bytes[j] != nil) == known { j += 1 }
            if known {
                f.write(off + UInt64(i), ArraySlice(bytes[i..<j].map { $0! }))
            } else {
                f.forget(off + UInt64(i), UInt64(j - i))
            }
            i = j
        }
    }

    /// A file range something may have changed or not (a write(2) that failed part-way).
    public func fileForget(_ name: String, _ off: UInt64, _ len: UInt64) {
        files[name]?.forget(off, len)
    }

    public func truncate(_ name: String, _ size: UInt64) {
        guard let f = files[name] else { return }
        if racing {
            // Racing loads may see the old or the new size: forget the bytes between them.
            let lo = min(size, f.size ?? 0), hi = max(size, f.size ?? 0)
            f.resize(size)
            f.forget(lo, saturatingEnd(hi - lo, UInt64(pageSize)))
        } else {
            f.resize(size)
        }
    }
}
