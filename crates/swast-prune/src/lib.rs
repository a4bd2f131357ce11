//! # swast-prune
//!
//! Weight pruning for swast (masks, sparsity distributions, RigL, magnitude, SNIP, ProbMask,
//! structured channel pruning). Not implemented yet: this crate is a placeholder in the
//! workspace until the pruning issue lands, and exports nothing.
