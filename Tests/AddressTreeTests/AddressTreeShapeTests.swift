import AddressTree
import Testing

// Tests of the B+ tree's shape changes — leaf and inner splits, merges and
// redistributions, least-key updates, the root growing and shrinking — and
// of the finger, against a sorted-array model searched by bisection, so that
// trees of tens of thousands of elements (three inner levels) stay quick.

/// The elements sorted by start, searched by bisection.
struct SortedModel {
  var elements: [Range] = []

  /// The number of elements starting below `a` (`orEqual`: at or below).
  func count(below a: UInt64, orEqual: Bool = false) -> Int {
    var lo = 0
    var hi = elements.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if elements[mid].start < a || (orEqual && elements[mid].start == a) { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  func fits(_ start: UInt64, _ end: UInt64) -> Bool {
    let i = count(below: start)
    if i > 0 && elements[i - 1].end > start { return false }
    return i == elements.count || elements[i].start >= end
  }

  mutating func insert(_ e: Range) { elements.insert(e, at: count(below: e.start)) }
  mutating func remove(at i: Int) { elements.remove(at: i) }

  func floor(_ a: UInt64) -> Range? {
    let i = count(below: a, orEqual: true)
    return i > 0 ? elements[i - 1] : nil
  }

  func ceiling(_ a: UInt64) -> Range? {
    let i = count(below: a)
    return i < elements.count ? elements[i] : nil
  }

  func lookup(_ a: UInt64) -> Range? { floor(a).flatMap { $0.end > a ? $0 : nil } }

  func next(after a: UInt64) -> Range? {
    let i = count(below: a, orEqual: true)
    return i < elements.count ? elements[i] : nil
  }

  func previous(before a: UInt64) -> Range? {
    let i = count(below: a)
    return i > 0 ? elements[i - 1] : nil
  }

  func overlapping(_ lo: UInt64, _ hi: UInt64) -> [Range] {
    guard lo < hi else { return [] }
    var i = count(below: lo, orEqual: true)
    if i > 0 && elements[i - 1].end > lo { i -= 1 }
    var result: [Range] = []
    while i < elements.count && elements[i].start < hi {
      if elements[i].end > lo { result.append(elements[i]) }
      i += 1
    }
    return result
  }

  /// First fit with unit alignment and no upper bound, by a linear scan of
  /// the holes.
  func findSpace(length: UInt64, lowest: UInt64) -> UInt64? {
    var holeStart: UInt64 = 0
    for e in elements {
      let from = max(holeStart, lowest)
      if e.start > from && e.start - from >= length { return from }
      holeStart = e.end
    }
    let from = max(holeStart, lowest)
    return UInt64.max - from >= length ? from : nil
  }
}

/// Compares the tree's answers around `a` with the model's.
func expectAgree(_ tree: AddressTree<Range>, _ model: SortedModel, at a: UInt64, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
  expectSame(tree.lookup(a), model.lookup(a), "\(what) lookup \(a)", sourceLocation: sourceLocation)
  expectSame(tree.floor(a), model.floor(a), "\(what) floor \(a)", sourceLocation: sourceLocation)
  expectSame(tree.ceiling(a), model.ceiling(a), "\(what) ceiling \(a)", sourceLocation: sourceLocation)
  let probe = Range(a, a &+ 1)
  expectSame(tree.next(after: probe), model.next(after: a), "\(what) next \(a)", sourceLocation: sourceLocation)
  expectSame(tree.previous(before: probe), model.previous(before: a), "\(what) previous \(a)",
             sourceLocation: sourceLocation)
}

@Suite struct AddressTreeShapeTests {
  /// Grows a tree to 20,000 elements in random order (three inner levels)
  /// and drains it to empty in another random order, with in-place end
  /// changes and clips mixed in, comparing queries with the model at every
  /// step: the drain exercises leaf and inner merges and redistributions at
  /// every level and the root giving way to its only child.
  @Test(arguments: [21, 22] as [UInt64])
  func growAndDrain(seed: UInt64) {
    var rng = SplitMix64(state: seed)
    var tree = AddressTree<Range>()
    var model = SortedModel()
    let span: UInt64 = 1 << 32
    let target = 20_000
    var step = 0

    func probeAndCheck() {
      let a = rng.next(below: span)
      expectAgree(tree, model, at: a, "step \(step)")
      if let e = model.elements.isEmpty ? nil : model.elements[Int(rng.next(below: UInt64(model.elements.count)))] {
        expectAgree(tree, model, at: e.start, "step \(step) at an element")
        let hi = e.start + rng.next(below: 1 << 20)
        expectSame(tree.elements(overlapping: e.start, hi), model.overlapping(e.start, hi),
                   "step \(step) overlapping")
      }
      if step % 50 == 0 {
        let length = 1 + rng.next(below: 1 << 16)
        let lowest = rng.next(below: span)
        #expect(tree.findSpace(length: length, alignment: 1, lowest: lowest, highest: .max)
                  == model.findSpace(length: length, lowest: lowest),
                "step \(step) findSpace(\(length), \(lowest))")
      }
      #expect(tree.count == model.elements.count)
      expectSame(tree.first, model.elements.first, "step \(step) first")
      expectSame(tree.last, model.elements.last, "step \(step) last")
      if step % 1000 == 0 { tree._checkInvariants() }
      step += 1
    }

    while model.elements.count < target {
      let start = rng.next(below: span - 0x10000)
      let end = start + 1 + rng.next(below: 0x8000)
      guard model.fits(start, end) else { continue }
      let e = Range(start, end)
      tree.insert(e)
      model.insert(e)
      let i = model.count(below: start)
      if rng.chance(5) && i > 0 {
        // Grow or shrink the element before, up to the new one.
        let before = model.elements[i - 1]
        before.end = before.start + 1 + rng.next(below: start - before.start)
        tree.endDidChange(before)
      }
      probeAndCheck()
    }
    tree._checkInvariants()
    expectSame(tree.elements, model.elements, "grown")

    while !model.elements.isEmpty {
      let i = Int(rng.next(below: UInt64(model.elements.count)))
      let e = model.elements[i]
      if rng.chance(10) && e.end - e.start >= 2 {
        // Clip in two without endDidChange, then remove the head.
        let tail = Range(e.start + 1 + rng.next(below: e.end - e.start - 1), e.end)
        e.end = tail.start
        tree.insert(tail)
        model.insert(tail)
      }
      tree.remove(e)
      model.remove(at: i)
      probeAndCheck()
    }
    tree._checkInvariants()
    #expect(tree.isEmpty && tree.first == nil && tree.elements.isEmpty)
    #expect(tree.findSpace(length: 1, alignment: 1, lowest: 0, highest: .max) == 0)
  }

  /// Ascending insertion (each element lands at the end of the last leaf),
  /// descending insertion (each becomes the least key of the first leaf and
  /// of every node on the leftmost path), then removal from the front and
  /// from the back.
  @Test func monotonicInsertionAndRemoval() {
    let n = 5_000
    let entries = (0 ..< n).map { Range(UInt64($0) * 0x2000 + 0x1000, UInt64($0) * 0x2000 + 0x2000) }
    for descending in [false, true] {
      var tree = AddressTree<Range>()
      for e in descending ? entries.reversed() : entries {
        tree.insert(e)
        #expect(tree.first === (descending ? e : entries[0]))
      }
      tree._checkInvariants()
      expectSame(tree.elements, entries, "descending \(descending)")
      #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: 0, highest: .max) == 0)
      #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: 0x1000, highest: .max) == 0x2000)
      for (i, e) in entries.enumerated() where i < n / 2 {
        tree.remove(e)
        #expect(tree.first === entries[i + 1])
        #expect(tree.floor(e.start) == nil)
      }
      tree._checkInvariants()
      // The hole left by the removed half is found in one piece.
      let half = UInt64(n / 2) * 0x2000 + 0x1000
      #expect(tree.findSpace(length: half, alignment: 1, lowest: 0, highest: .max) == 0)
      #expect(tree.findSpace(length: half + 1, alignment: 1, lowest: 0, highest: .max)
              == UInt64(n) * 0x2000)
      for j in (n / 2 ..< n).reversed() {
        tree.remove(entries[j])
        expectSame(tree.last, j > n / 2 ? entries[j - 1] : nil, "last after removing \(j)")
      }
      tree._checkInvariants()
      #expect(tree.isEmpty)
    }
  }

  /// The map benchmark's pattern: one page mapped into the lowest hole and
  /// unmapped again, over and over, at every position of a large tree, so
  /// that inserting fills a leaf and removing leaves it at the edge of
  /// refilling; the tree must neither lose elements nor end up with a stale
  /// gap or child key.
  @Test func churnAtEveryPosition() {
    let n = 3_000
    let entries = (0 ..< n).map { Range(UInt64($0) * 0x2000, UInt64($0) * 0x2000 + 0x1000) }
    var tree = AddressTree<Range>()
    for e in entries { tree.insert(e) }
    for i in stride(from: 0, to: n, by: 7) {
      let lowest = entries[i].start
      for _ in 0 ..< 3 {
        let a = tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: lowest, highest: .max)
        #expect(a == lowest + 0x1000)
        let page = Range(a!, a! + 0x1000)
        tree.insert(page)
        #expect(tree.lookup(a!) === page && tree.floor(a! - 1) === entries[i])
        expectSame(tree.elements(overlapping: a!, a! + 0x1000), [page], "churn at \(i)")
        tree.remove(page)
        #expect(tree.lookup(a!) == nil)
      }
      // Fill the hole for good every other time, so that leaves fill up and
      // split in the middle of the tree.
      if i % 2 == 0 { tree.insert(Range(lowest + 0x1000, lowest + 0x2000)) }
    }
    tree._checkInvariants()
    #expect(tree.count == n + (n + 13) / 14)
  }

  /// A copy shares storage until one side changes; structural changes on
  /// one side (splits, merges, a shrinking root) leave the other intact.
  @Test func copiesSurviveStructuralChanges() {
    let n = 10_000
    let entries = (0 ..< n).map { Range(UInt64($0) * 0x2000, UInt64($0) * 0x2000 + 0x1000) }
    var original = AddressTree<Range>()
    for e in entries { original.insert(e) }
    var copy = original
    for (i, e) in entries.enumerated() where i % 10 != 0 { copy.remove(e) }
    let extra = (0 ..< 500).map { Range(UInt64($0) * 0x2000 + 0x1000, UInt64($0) * 0x2000 + 0x1800) }
    for e in extra { original.insert(e) }
    original._checkInvariants()
    copy._checkInvariants()
    #expect(original.count == n + extra.count)
    #expect(copy.count == n / 10)
    #expect(copy.lookup(0x1000) == nil && original.lookup(0x1000) === extra[0])
    #expect(copy.lookup(0x2000) == nil && original.lookup(0x2000) === entries[1])
    expectSame(copy.elements, entries.enumerated().filter { $0.offset % 10 == 0 }.map(\.element), "copy")
    #expect(copy.findSpace(length: 0x13000, alignment: 1, lowest: 0, highest: .max) == 0x1000)
    #expect(original.findSpace(length: 0x800, alignment: 1, lowest: 0, highest: .max) == 0x1800)
  }

  /// `findSpace` starts in the leaf holding `lowest` and climbs to later
  /// subtrees: a fit far to the right, several levels up, whether the finger
  /// is in that leaf or elsewhere, and an upper bound that ends the search.
  @Test func findSpaceClimbsFromTheLowestLeaf() {
    let n = 20_000
    let entries = (0 ..< n).map { Range(UInt64($0) * 0x2000, UInt64($0) * 0x2000 + 0x1000) }
    var tree = AddressTree<Range>()
    for e in entries { tree.insert(e) }
    let k = 15_000
    let hole = UInt64(k) * 0x2000 - 0x1000  // 0x3000 bytes once entry k is gone
    tree.remove(entries[k])
    let end = UInt64(n) * 0x2000 - 0x1000  // the unbounded hole above the last element
    for fingerAtLowest in [false, true] {
      // The last mutation puts the finger near 0 or at the probes' leaf.
      let moved = entries[fingerAtLowest ? 100 : 1]
      tree.remove(moved)
      tree.insert(moved)
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: 0, highest: .max) == hole)
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: 100 * 0x2000, highest: .max) == hole)
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: hole + 0x1000, highest: .max) == hole + 0x1000)
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: hole + 0x1001, highest: .max) == end)
      #expect(tree.findSpace(length: 0x2000, alignment: 0x4000, lowest: 0, highest: .max) == hole + 0x1000)
      // A bound just short of the hole's first fit stops the search there.
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: 0, highest: hole + 0x1FFF) == nil)
      #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: 0, highest: hole + 0x2000) == hole)
      #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: 100 * 0x2000 + 1, highest: .max)
              == 100 * 0x2000 + 0x1000)
    }
    tree._checkInvariants()
  }
}
