//! The vocabulary and rules of nicplane: identifiers, validated value types,
//! entities, the business rules as named functions, and the IPAM math.
//!
//! Nothing here does I/O. The store crate persists these types; the service
//! crate calls the rules inside the transaction that writes the change.

pub mod capacity;
pub mod error;
pub mod feed;
pub mod ids;
pub mod ipam;
pub mod model;
pub mod query;
pub mod quota;
pub mod rules;
pub mod types;

pub use error::{ConflictReason, Error, Kind, Result, INTERNAL_MESSAGE};
