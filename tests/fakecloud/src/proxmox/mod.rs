//! Fake proxmox API: being written (issue 6).

pub mod cli;
