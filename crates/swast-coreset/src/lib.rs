//! # swast-coreset
//!
//! Coreset selection for swast (EL2N, forgetting, GradMatch, CRAIG, GLISTER, Moderate, …).
//! Not implemented yet: this crate is a placeholder in the workspace until the coreset issue
//! lands, and exports nothing.
