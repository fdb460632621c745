//===----------------------------------------------------------------------===//
//
// AddressTree: the ordered index of a VM map's entries, the counterpart of
// the red-black tree of `vm_map_entry` that NetBSD's uvm_map keeps by start
// address, augmented (like its `maxgap`) so that free space is found in
// logarithmic time.
//
//===----------------------------------------------------------------------===//

/// An object covering the half-open address interval `start ..< end`.
///
/// Conforming types must keep `end > start` whenever the object is in an
/// `AddressTree`.
public protocol AddressRange: AnyObject {
  /// The first address covered.
  var start: UInt64 { get }
  /// The first address past the range; greater than `start`.
  var end: UInt64 { get }
}

/// An ordered collection of disjoint address ranges, indexed by start
/// address.
///
/// The tree is an AVL tree whose nodes live in one contiguous array and refer
/// to each other by index. Every node stores its element's start address (its
/// key), the *gap* between its predecessor's end (or zero) and its own start,
/// and the largest gap in its subtree; the latter lets `findSpace` skip every
/// subtree that holds no large enough hole.
///
/// `AddressTree` is a value type: copies share storage until one of them is
/// mutated, at which point the mutated copy duplicates its nodes in O(*n*).
/// The elements themselves are class instances and stay shared.
///
/// ## Mutating elements in place
///
/// The tree caches each element's start (as the key) and, through the gaps,
/// each element's end. An owner that changes these must keep the caches in
/// step:
///
/// - To change an element's `start`, `remove(_:)` it first and `insert(_:)`
///   it again afterwards.
/// - After changing an element's `end` in place, call `endDidChange(_:)`
///   before the next query or mutation, unless that next mutation rederives
///   the gap above the element itself: inserting an element right after it
///   (as clipping an entry in two does: shrink first, then insert the tail),
///   or removing the element or its successor.
///
/// An owner must never reorder elements or make them overlap.
public struct AddressTree<Element: AddressRange> {
  /// The storage of the tree; `count` equals `_nodes.count`.
  @usableFromInline
  internal var _nodes: ContiguousArray<_Node>

  /// The index of the root node, or `_none` if the tree is empty.
  @usableFromInline
  internal var _root: Int32

  /// Creates an empty tree.
  ///
  /// - Complexity: O(1)
  @inlinable
  public init() {
    _nodes = []
    _root = _none
  }
}

/// The index standing for "no node".
@usableFromInline
internal let _none: Int32 = -1

extension AddressTree {
  @usableFromInline
  internal struct _Node {
    /// The element; its `start` equals `key` while it is in the tree.
    @usableFromInline
    internal let element: Element

    /// The element's start address, by which the tree is ordered.
    @usableFromInline
    internal let key: UInt64

    /// `key` minus the end of the preceding element (or minus zero for the
    /// first element): the size of the free hole right below this element.
    @usableFromInline
    internal var gap: UInt64

    /// The largest `gap` in the subtree rooted at this node.
    @usableFromInline
    internal var maxGap: UInt64

    @usableFromInline
    internal var left: Int32

    @usableFromInline
    internal var right: Int32

    /// The number of nodes on the longest path down from this node.
    @usableFromInline
    internal var height: Int8

    @inlinable
    internal init(element: Element, gap: UInt64) {
      self.element = element
      self.key = element.start
      self.gap = gap
      self.maxGap = gap
      self.left = _none
      self.right = _none
      self.height = 1
    }
  }
}

// MARK: - Queries

extension AddressTree {
  /// The number of elements in the tree.
  ///
  /// - Complexity: O(1)
  @inlinable
  public var count: Int { _nodes.count }

  /// A Boolean value indicating whether the tree has no elements.
  ///
  /// - Complexity: O(1)
  @inlinable
  public var isEmpty: Bool { _nodes.isEmpty }

  /// The element with the smallest start address, or `nil` if the tree is
  /// empty.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public var first: Element? {
    _nodes.withUnsafeBufferPointer { nodes in
      var i = _root
      if i == _none { return nil }
      while nodes[Int(i)].left != _none { i = nodes[Int(i)].left }
      return nodes[Int(i)].element
    }
  }

  /// The element with the largest start address, or `nil` if the tree is
  /// empty.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public var last: Element? {
    _nodes.withUnsafeBufferPointer { nodes in
      var i = _root
      if i == _none { return nil }
      while nodes[Int(i)].right != _none { i = nodes[Int(i)].right }
      return nodes[Int(i)].element
    }
  }

  /// Returns the element whose range contains `address`, or `nil` if
  /// `address` is not covered by any element.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public func lookup(_ address: UInt64) -> Element? {
    guard let e = floor(address), e.end > address else { return nil }
    return e
  }

  /// Returns the element with the greatest start address less than or equal
  /// to `address`, or `nil` if there is none.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public func floor(_ address: UInt64) -> Element? {
    let i = _floorIndex(address)
    return i == _none ? nil : _nodes[Int(i)].element
  }

  /// Returns the element with the least start address greater than or equal
  /// to `address`, or `nil` if there is none.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public func ceiling(_ address: UInt64) -> Element? {
    let i = _ceilingIndex(address)
    return i == _none ? nil : _nodes[Int(i)].element
  }

  /// Returns the element with the least start address greater than
  /// `e.start`, or `nil` if there is none. `e` need not be in the tree.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public func next(after e: Element) -> Element? {
    let i = _indexAbove(e.start)
    return i == _none ? nil : _nodes[Int(i)].element
  }

  /// Returns the element with the greatest start address less than
  /// `e.start`, or `nil` if there is none. `e` need not be in the tree.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public func previous(before e: Element) -> Element? {
    let i = _indexBelow(e.start)
    return i == _none ? nil : _nodes[Int(i)].element
  }

  /// Returns, in address order, the elements that intersect `lo ..< hi`
  /// (`e.start < hi` and `e.end > lo`); an empty range (`lo >= hi`)
  /// intersects none, even inside an element.
  ///
  /// - Complexity: O(log *n* + *k*), where *k* is the number of elements
  ///   returned.
  @inlinable
  public func elements(overlapping lo: UInt64, _ hi: UInt64) -> [Element] {
    // Elements are disjoint and sorted, so their ends are sorted too: only
    // the last element starting at or below `lo` can end above `lo` without
    // starting above it.
    var result: [Element] = []
    // An empty range overlaps nothing, even inside an element.
    guard lo < hi else { return result }
    let below = _floorIndex(lo)
    _forEach(from: below == _none ? 0 : _nodes[Int(below)].key) { e in
      guard e.start < hi else { return false }
      if e.end > lo { result.append(e) }
      return true
    }
    return result
  }

  /// Calls `body` on every element in address order.
  ///
  /// `body` must not mutate the tree.
  ///
  /// - Complexity: O(*n*)
  @inlinable
  public func forEach(_ body: (Element) throws -> Void) rethrows {
    try _forEach(from: 0) { e in
      try body(e)
      return true
    }
  }

  /// All elements in address order.
  ///
  /// - Complexity: O(*n*)
  @inlinable
  public var elements: [Element] {
    var result: [Element] = []
    result.reserveCapacity(count)
    forEach { result.append($0) }
    return result
  }

  /// Returns the lowest address `a` such that `a >= lowest`, `a` is a
  /// multiple of `alignment`, `a + length <= highest`, and no element
  /// intersects `a ..< a + length` (first fit), or `nil` if there is no such
  /// address.
  ///
  /// - Parameters:
  ///   - length: The size of the wanted space; must be positive.
  ///   - alignment: The required alignment of the result; must be positive.
  ///     It need not be a power of two.
  ///   - lowest: The least acceptable address.
  ///   - highest: The exclusive upper bound of the wanted space.
  ///
  /// - Complexity: O(log *n*) when `alignment` is 1. In general
  ///   O((1 + *m*) log *n*), where *m* is the number of free holes of at
  ///   least `length` bytes lying before the result in which no aligned
  ///   address fits; a hole of at least `length + alignment - 1` bytes always
  ///   fits, so *m* counts only holes smaller than that.
  @inlinable
  public func findSpace(
    length: UInt64, alignment: UInt64, lowest: UInt64, highest: UInt64
  ) -> UInt64? {
    precondition(length > 0, "findSpace needs a positive length")
    precondition(alignment > 0, "findSpace needs a positive alignment")
    guard highest >= length, lowest <= highest - length else { return nil }
    var request = _SpaceRequest(
      length: length, alignment: alignment,
      lowest: lowest, lastStart: highest - length)
    if let a = _findSpace(in: _root, &request) { return a }
    if request.exhausted { return nil }
    // The hole above the last element is unbounded but for `highest`.
    return request.fit(holeStart: last?.end ?? 0, holeEnd: .max)
  }
}

// MARK: - Mutations

extension AddressTree {
  /// Inserts `e`.
  ///
  /// - Precondition: `e.end > e.start`, and `e` does not intersect any
  ///   element of the tree.
  /// - Complexity: O(log *n*), plus O(*n*) if the storage is shared with a
  ///   copy.
  @inlinable
  public mutating func insert(_ e: Element) {
    let start = e.start
    let end = e.end
    precondition(end > start, "AddressTree element must have end > start")
    precondition(_nodes.count < Int32.max, "AddressTree is full")
    let (pred, existing, succ) = _neighbors(of: start)
    let predEnd = pred == _none ? 0 : _nodes[Int(pred)].element.end
    precondition(
      existing == _none && predEnd <= start
        && (succ == _none || end <= _nodes[Int(succ)].key),
      "AddressTree element overlaps an existing element")
    if succ != _none {
      // The successor is on the insertion path (the last node where the
      // search goes left), so `insert(_:into:)` updates its ancestors.
      _nodes[Int(succ)].gap = _nodes[Int(succ)].key - end
    }
    let new = Int32(_nodes.count)
    _nodes.append(_Node(element: e, gap: start - predEnd))
    let root = _root
    _root = _withLinks { $0.insert(new, into: root) }
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }

  /// Removes `e`, which must be in the tree.
  ///
  /// The element is found by its start address, so `e.start` must not have
  /// changed since `e` was inserted.
  ///
  /// - Complexity: O(log *n*), plus O(*n*) if the storage is shared with a
  ///   copy.
  @inlinable
  public mutating func remove(_ e: Element) {
    let start = e.start
    let (pred, victim, succ) = _neighbors(of: start)
    precondition(
      victim != _none && _nodes[Int(victim)].element === e,
      "AddressTree.remove: element is not in the tree")
    if succ != _none {
      let predEnd = pred == _none ? 0 : _nodes[Int(pred)].element.end
      // `remove(_:from:)` passes through the successor: it is either an
      // ancestor of the victim or the minimum of the victim's right subtree.
      _nodes[Int(succ)].gap = _nodes[Int(succ)].key - predEnd
    }
    let root = _root
    _root = _withLinks { $0.remove(start, from: root) }
    _compact(removing: victim)
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }

  /// Updates the cached free space after `e.end` changed in place.
  ///
  /// Call this after growing or shrinking an element without changing its
  /// start, unless the next mutation inserts an element right after it or
  /// removes it or its successor (see the type's documentation).
  ///
  /// - Precondition: `e` is in the tree, `e.end > e.start`, and `e` does not
  ///   intersect its successor.
  /// - Complexity: O(log *n*), plus O(*n*) if the storage is shared with a
  ///   copy.
  @inlinable
  public mutating func endDidChange(_ e: Element) {
    let start = e.start
    let end = e.end
    let (_, i, succ) = _neighbors(of: start)
    precondition(
      i != _none && _nodes[Int(i)].element === e,
      "AddressTree.endDidChange: element is not in the tree")
    precondition(end > start, "AddressTree element must have end > start")
    if succ != _none {
      let succStart = _nodes[Int(succ)].key
      precondition(
        end <= succStart, "AddressTree element overlaps its successor")
      _nodes[Int(succ)].gap = succStart - end
      let root = _root
      _withLinks { $0.refreshPath(to: succStart, from: root) }
    }
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }
}

extension AddressTree: Sendable where Element: Sendable {}
extension AddressTree._Node: Sendable where Element: Sendable {}

// MARK: - Searching

extension AddressTree {
  /// The node with the greatest key `<= address`, or `_none`.
  @inlinable
  internal func _floorIndex(_ address: UInt64) -> Int32 { _bound(address, above: false, inclusive: true) }

  /// The node with the least key `>= address`, or `_none`.
  @inlinable
  internal func _ceilingIndex(_ address: UInt64) -> Int32 { _bound(address, above: true, inclusive: true) }

  /// The node with the least key `> address`, or `_none`.
  @inlinable
  internal func _indexAbove(_ address: UInt64) -> Int32 { _bound(address, above: true, inclusive: false) }

  /// The node with the greatest key `< address`, or `_none`.
  @inlinable
  internal func _indexBelow(_ address: UInt64) -> Int32 { _bound(address, above: false, inclusive: false) }

  /// The nearest node on one side of `address`: the least key above it (`above`) or the
  /// greatest below it, `inclusive` of a key equal to it. One descent, O(log n).
  @inlinable
  internal func _bound(_ address: UInt64, above: Bool, inclusive: Bool) -> Int32 {
    _nodes.withUnsafeBufferPointer { nodes in
      var best = _none
      var i = _root
      while i != _none {
        let key = nodes[Int(i)].key
        let onSide = above ? (inclusive ? key >= address : key > address) : (inclusive ? key <= address : key < address)
        if onSide {
          best = i
          i = above ? nodes[Int(i)].left : nodes[Int(i)].right
        } else {
          i = above ? nodes[Int(i)].right : nodes[Int(i)].left
        }
      }
      return best
    }
  }

  /// The nodes with the greatest key `< key`, with `key`, and with the
  /// least key `> key`; each `_none` if there is no such node.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  internal func _neighbors(
    of key: UInt64
  ) -> (below: Int32, at: Int32, above: Int32) {
    _nodes.withUnsafeBufferPointer { nodes in
      var below = _none
      var above = _none
      var i = _root
      while i != _none {
        let nodeKey = nodes[Int(i)].key
        if nodeKey < key {
          below = i
          i = nodes[Int(i)].right
        } else if nodeKey > key {
          above = i
          i = nodes[Int(i)].left
        } else {
          // The neighbours are the extreme nodes of the subtrees, if any.
          var j = nodes[Int(i)].left
          while j != _none {
            below = j
            j = nodes[Int(j)].right
          }
          j = nodes[Int(i)].right
          while j != _none {
            above = j
            j = nodes[Int(j)].left
          }
          return (below, i, above)
        }
      }
      return (below, _none, above)
    }
  }

  /// Calls `body` on the elements with start `>= bound` in address order
  /// until it returns `false`.
  ///
  /// - Complexity: O(log *n* + *k*), where *k* is the number of calls.
  @inlinable
  internal func _forEach(
    from bound: UInt64, _ body: (Element) throws -> Bool
  ) rethrows {
    // The nodes whose left subtree has not been finished, innermost last.
    var pending: [Int32] = []
    pending.reserveCapacity(_root == _none ? 0 : Int(_nodes[Int(_root)].height))
    var i = _root
    while i != _none {
      if _nodes[Int(i)].key >= bound {
        pending.append(i)
        i = _nodes[Int(i)].left
      } else {
        i = _nodes[Int(i)].right
      }
    }
    while let j = pending.popLast() {
      guard try body(_nodes[Int(j)].element) else { return }
      i = _nodes[Int(j)].right
      while i != _none {
        pending.append(i)
        i = _nodes[Int(i)].left
      }
    }
  }

  /// Returns the first fit for `request` among the holes below the elements
  /// of the subtree at `i`, in address order; sets `request.exhausted` once
  /// a hole shows that no later hole can fit.
  @inlinable
  internal func _findSpace(in i: Int32, _ request: inout _SpaceRequest) -> UInt64? {
    if i == _none || _nodes[Int(i)].maxGap < request.length { return nil }
    let key = _nodes[Int(i)].key
    // A hole below a key `<= lowest` ends at or below `lowest`; so do all
    // holes in the left subtree.
    if key > request.lowest {
      if let a = _findSpace(in: _nodes[Int(i)].left, &request) { return a }
      if request.exhausted { return nil }
      let gap = _nodes[Int(i)].gap
      if gap >= request.length {
        if let a = request.fit(holeStart: key - gap, holeEnd: key) { return a }
        if request.exhausted { return nil }
      }
    }
    return _findSpace(in: _nodes[Int(i)].right, &request)
  }
}

/// The parameters of a `findSpace` search and whether it is over.
@usableFromInline
internal struct _SpaceRequest {
  @usableFromInline internal let length: UInt64
  @usableFromInline internal let alignment: UInt64
  @usableFromInline internal let lowest: UInt64
  /// The highest acceptable result: `highest - length`.
  @usableFromInline internal let lastStart: UInt64
  /// Set when a hole's first candidate address exceeds `lastStart`: the
  /// candidates of later holes are no lower, so none of them fits either.
  @usableFromInline internal var exhausted = false

  @inlinable
  internal init(length: UInt64, alignment: UInt64, lowest: UInt64, lastStart: UInt64) {
    self.length = length
    self.alignment = alignment
    self.lowest = lowest
    self.lastStart = lastStart
  }

  /// Returns the lowest acceptable address `a` with `a ..< a + length`
  /// inside the hole `holeStart ..< holeEnd`, or `nil`.
  @inlinable
  internal mutating func fit(holeStart: UInt64, holeEnd: UInt64) -> UInt64? {
    let from = max(holeStart, lowest)
    let misalignment = from % alignment
    let (a, overflow) = misalignment == 0
      ? (from, false) : from.addingReportingOverflow(alignment - misalignment)
    guard !overflow, a <= lastStart else {
      exhausted = true
      return nil
    }
    // `a + length <= highest`, so the sum cannot overflow.
    return a + length <= holeEnd ? a : nil
  }
}

// MARK: - Rebalancing

extension AddressTree {
  /// The node storage seen through a pointer for the duration of one
  /// structural change, so that the rebalancing code reads and writes nodes
  /// without the uniqueness checks of `_nodes` (and, in optimized builds,
  /// without its bounds checks).
  @usableFromInline
  internal struct _Links {
    @usableFromInline
    internal let nodes: UnsafeMutableBufferPointer<_Node>

    @inlinable
    internal init(_ nodes: UnsafeMutableBufferPointer<_Node>) {
      self.nodes = nodes
    }

    @inlinable @inline(__always)
    internal func height(_ i: Int32) -> Int8 {
      i == _none ? 0 : nodes[Int(i)].height
    }

    @inlinable @inline(__always)
    internal func maxGap(_ i: Int32) -> UInt64 {
      i == _none ? 0 : nodes[Int(i)].maxGap
    }

    /// Recomputes the height and largest gap of node `i` from its children.
    @inlinable
    internal func update(_ i: Int32) {
      let left = nodes[Int(i)].left
      let right = nodes[Int(i)].right
      nodes[Int(i)].height = 1 + max(height(left), height(right))
      nodes[Int(i)].maxGap = max(nodes[Int(i)].gap, maxGap(left), maxGap(right))
    }

    @inlinable
    internal func rotateLeft(_ i: Int32) -> Int32 {
      let r = nodes[Int(i)].right
      nodes[Int(i)].right = nodes[Int(r)].left
      nodes[Int(r)].left = i
      update(i)
      update(r)
      return r
    }

    @inlinable
    internal func rotateRight(_ i: Int32) -> Int32 {
      let l = nodes[Int(i)].left
      nodes[Int(i)].left = nodes[Int(l)].right
      nodes[Int(l)].right = i
      update(i)
      update(l)
      return l
    }

    /// Updates node `i`, whose subtrees are AVL trees differing in height by
    /// at most 2, and rotates it into balance; returns the subtree's new
    /// root.
    @inlinable
    internal func rebalance(_ i: Int32) -> Int32 {
      update(i)
      let left = nodes[Int(i)].left
      let right = nodes[Int(i)].right
      let balance = Int(height(left)) - Int(height(right))
      if balance > 1 {
        if height(nodes[Int(left)].left) < height(nodes[Int(left)].right) {
          nodes[Int(i)].left = rotateLeft(left)
        }
        return rotateRight(i)
      }
      if balance < -1 {
        if height(nodes[Int(right)].right) < height(nodes[Int(right)].left) {
          nodes[Int(i)].right = rotateRight(right)
        }
        return rotateLeft(i)
      }
      return i
    }

    /// Links the detached node `new` into the subtree at `i`, rebalancing
    /// and updating every node on the way; returns the subtree's new root.
    @inlinable
    internal func insert(_ new: Int32, into i: Int32) -> Int32 {
      if i == _none { return new }
      if nodes[Int(new)].key < nodes[Int(i)].key {
        nodes[Int(i)].left = insert(new, into: nodes[Int(i)].left)
      } else {
        nodes[Int(i)].right = insert(new, into: nodes[Int(i)].right)
      }
      return rebalance(i)
    }

    /// Unlinks the node with `key` from the subtree at `i`, which contains
    /// it, rebalancing and updating every node on the way; returns the
    /// subtree's new root.
    ///
    /// A node with a right subtree is replaced by that subtree's minimum,
    /// its successor, so the path walked always includes the successor.
    @inlinable
    internal func remove(_ key: UInt64, from i: Int32) -> Int32 {
      let nodeKey = nodes[Int(i)].key
      if key < nodeKey {
        nodes[Int(i)].left = remove(key, from: nodes[Int(i)].left)
      } else if key > nodeKey {
        nodes[Int(i)].right = remove(key, from: nodes[Int(i)].right)
      } else {
        let right = nodes[Int(i)].right
        if right == _none { return nodes[Int(i)].left }
        let (successor, rest) = removeMinimum(from: right)
        nodes[Int(successor)].left = nodes[Int(i)].left
        nodes[Int(successor)].right = rest
        return rebalance(successor)
      }
      return rebalance(i)
    }

    /// Unlinks the leftmost node of the subtree at `i`; returns that node
    /// and the subtree's new root.
    @inlinable
    internal func removeMinimum(from i: Int32) -> (minimum: Int32, root: Int32) {
      let left = nodes[Int(i)].left
      if left == _none { return (i, nodes[Int(i)].right) }
      let (minimum, rest) = removeMinimum(from: left)
      nodes[Int(i)].left = rest
      return (minimum, rebalance(i))
    }

    /// Updates every node on the path from `i` down to the node with `key`,
    /// which the subtree at `i` contains, after that node's gap changed.
    @inlinable
    internal func refreshPath(to key: UInt64, from i: Int32) {
      let nodeKey = nodes[Int(i)].key
      if key < nodeKey {
        refreshPath(to: key, from: nodes[Int(i)].left)
      } else if key > nodeKey {
        refreshPath(to: key, from: nodes[Int(i)].right)
      }
      update(i)
    }

    /// Redirects the link to node `old`, a descendant of the root `root`,
    /// to `new`.
    @inlinable
    internal func relink(_ old: Int32, to new: Int32, under root: Int32) {
      let key = nodes[Int(old)].key
      var parent = root
      while true {
        if key < nodes[Int(parent)].key {
          let child = nodes[Int(parent)].left
          if child == old {
            nodes[Int(parent)].left = new
            return
          }
          parent = child
        } else {
          let child = nodes[Int(parent)].right
          if child == old {
            nodes[Int(parent)].right = new
            return
          }
          parent = child
        }
      }
    }
  }

  /// Calls `body` with a view of the node storage.
  @inlinable
  internal mutating func _withLinks<R>(_ body: (_Links) -> R) -> R {
    _nodes.withUnsafeMutableBufferPointer { body(_Links($0)) }
  }

  /// Deletes the unlinked node `victim` from `_nodes` by moving the last
  /// node into its slot.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  internal mutating func _compact(removing victim: Int32) {
    let last = Int32(_nodes.count - 1)
    if victim != last {
      if _root == last {
        _root = victim
      } else {
        let root = _root
        _withLinks { $0.relink(last, to: victim, under: root) }
      }
      _nodes.swapAt(Int(victim), Int(last))
    }
    _nodes.removeLast()
  }
}

// MARK: - Invariants

extension AddressTree {
  /// Verifies every invariant of the tree, stopping with a precondition
  /// failure at the first violation: AVL balance and heights, strictly
  /// increasing keys equal to the elements' starts, non-empty disjoint
  /// elements, the cached gaps and subtree maxima, and that exactly `count`
  /// nodes are reachable from the root.
  ///
  /// - Complexity: O(*n*)
  public func _checkInvariants() {
    var visited = 0
    var previousEnd: UInt64? = nil
    _ = _checkSubtree(_root, visited: &visited, previousEnd: &previousEnd)
    precondition(visited == _nodes.count, "AddressTree: unreachable nodes")
  }

  /// Checks the subtree at `i`, whose elements follow the one ending at
  /// `previousEnd` (`nil` if they come first), and returns its height and
  /// largest gap.
  internal func _checkSubtree(
    _ i: Int32, visited: inout Int, previousEnd: inout UInt64?
  ) -> (height: Int8, maxGap: UInt64) {
    if i == _none { return (0, 0) }
    visited += 1
    precondition(
      i >= 0 && Int(i) < _nodes.count && visited <= _nodes.count,
      "AddressTree: bad node index or cycle")
    let node = _nodes[Int(i)]
    let left = _checkSubtree(node.left, visited: &visited, previousEnd: &previousEnd)
    _checkNode(node, previousEnd: previousEnd)
    previousEnd = node.element.end
    let right = _checkSubtree(node.right, visited: &visited, previousEnd: &previousEnd)
    precondition(
      abs(Int(left.height) - Int(right.height)) <= 1,
      "AddressTree: unbalanced node")
    let height = 1 + max(left.height, right.height)
    let maxGap = max(node.gap, left.maxGap, right.maxGap)
    precondition(node.height == height, "AddressTree: wrong height")
    precondition(node.maxGap == maxGap, "AddressTree: wrong subtree gap")
    return (height, maxGap)
  }

  /// Checks a node against its element and the end of the element before it
  /// (`nil` if it is the first).
  internal func _checkNode(_ node: _Node, previousEnd: UInt64?) {
    let start = node.element.start
    precondition(node.key == start, "AddressTree: key differs from start")
    precondition(node.element.end > start, "AddressTree: empty element")
    precondition(
      (previousEnd ?? 0) <= start,
      "AddressTree: elements out of order or overlapping")
    precondition(
      node.gap == start - (previousEnd ?? 0),
      "AddressTree: stale gap (missing endDidChange?)")
  }

  #if DEBUG
  /// Verifies the tree after a mutation at `key`: all of it while it has at
  /// most 2048 elements; beyond that, so that debug builds stay usable, in
  /// O(log *n*) the balance, heights, gap maxima and key order on the
  /// search path for `key`, and the elements around `key`.
  @usableFromInline
  internal func _checkAfterMutation(at key: UInt64) {
    if count <= 2048 {
      _checkInvariants()
      return
    }
    var lower: UInt64? = nil  // every key below `i` exceeds this
    var upper: UInt64? = nil  // every key below `i` is less than this
    var i = _root
    while i != _none {
      let node = _nodes[Int(i)]
      precondition(
        (lower.map { node.key > $0 } ?? true) && (upper.map { node.key < $0 } ?? true),
        "AddressTree: keys out of order")
      let left = node.left == _none ? nil : _nodes[Int(node.left)]
      let right = node.right == _none ? nil : _nodes[Int(node.right)]
      let leftHeight = left?.height ?? 0
      let rightHeight = right?.height ?? 0
      precondition(
        abs(Int(leftHeight) - Int(rightHeight)) <= 1,
        "AddressTree: unbalanced node")
      precondition(
        node.height == 1 + max(leftHeight, rightHeight),
        "AddressTree: wrong height")
      precondition(
        node.maxGap == max(node.gap, left?.maxGap ?? 0, right?.maxGap ?? 0),
        "AddressTree: wrong subtree gap")
      if key == node.key { break }
      if key < node.key {
        upper = node.key
        i = node.left
      } else {
        lower = node.key
        i = node.right
      }
    }
    // The element before `key`, the one at `key` if any, and two more.
    var j = _indexBelow(key)
    if j == _none { j = _ceilingIndex(0) }
    var previousEnd: UInt64? = nil
    if j != _none {
      let before = _indexBelow(_nodes[Int(j)].key)
      if before != _none { previousEnd = _nodes[Int(before)].element.end }
    }
    for _ in 0 ..< 4 where j != _none {
      _checkNode(_nodes[Int(j)], previousEnd: previousEnd)
      previousEnd = _nodes[Int(j)].element.end
      j = _indexAbove(_nodes[Int(j)].key)
    }
  }
  #endif
}
