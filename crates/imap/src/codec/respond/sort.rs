//! SORT and THREAD responses (RFC 5256 §4).

/// A THREAD answer as a forest kept flat (no nesting: a reply chain may
/// be as long as the folder, and nested values would recurse to drop).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadForest {
    /// Every node; children refer to others by index.
    pub nodes: Vec<ThreadNode>,
    /// The threads' first nodes, in order.
    pub roots: Vec<usize>,
}

/// One node of a [`ThreadForest`]: a message and its replies. `message:
/// None` is a dummy parent (RFC 5256 §2.2 "dummy"), written as a list of
/// its children's threads, e.g. `((3)(5))`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadNode {
    /// Message sequence number or UID; `None` for a dummy.
    pub message: Option<u32>,
    /// Replies, in order (indexes into [`ThreadForest::nodes`]).
    pub children: Vec<usize>,
}

/// `* SORT n...` (RFC 5256 §4; no trailing space when empty).
pub fn sort(out: &mut Vec<u8>, ns: &[u32]) {
    super::misc::numbers(out, "SORT", ns);
}

enum Work {
    Node(usize),
    Open,
    Close,
}

/// `* THREAD (2)(3 6 (4 23)(44 7 96))` (RFC 5256 §4 `thread-list`). Long
/// chains and deep trees are written without recursion. Indexes outside
/// the forest are skipped.
pub fn thread(out: &mut Vec<u8>, forest: &ThreadForest) {
    let roots = &forest.roots;
    out.extend_from_slice(b"* THREAD");
    let mut stack: Vec<Work> = Vec::new();
    for &root in roots.iter().rev() {
        stack.push(Work::Close);
        stack.push(Work::Node(root));
        stack.push(Work::Open);
    }
    if !roots.is_empty() {
        out.push(b' ');
    }
    while let Some(w) = stack.pop() {
        match w {
            Work::Open => {
                if out.last().is_some_and(u8::is_ascii_digit) {
                    out.push(b' ');
                }
                out.push(b'(');
            }
            Work::Close => out.push(b')'),
            Work::Node(index) => {
                let mut node = match forest.nodes.get(index) {
                    Some(n) => n,
                    None => continue,
                };
                loop {
                    if let Some(m) = node.message {
                        if out.last().is_some_and(u8::is_ascii_digit) {
                            out.push(b' ');
                        }
                        out.extend_from_slice(m.max(1).to_string().as_bytes());
                    }
                    let only = match node.children.as_slice() {
                        [only] => forest.nodes.get(*only),
                        _ => None,
                    };
                    match (node.children.as_slice(), only) {
                        ([], _) => break,
                        // A chain continues inside the same parentheses.
                        (_, Some(only)) if node.message.is_some() || only.message.is_some() => {
                            node = only
                        }
                        (many, _) => {
                            // thread-nested: each child in its own parentheses.
                            for &c in many.iter().rev() {
                                stack.push(Work::Close);
                                stack.push(Work::Node(c));
                                stack.push(Work::Open);
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}
