//! One editor per file format paxx changes structurally. Each parses with a precise
//! error (file:line:column), edits in place keeping the user's comments and formatting,
//! and renders back to text.

pub mod env_file;
pub mod name_lines;
pub mod paxx_toml;
pub mod pyproject;
pub mod readme;
