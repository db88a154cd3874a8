//! `embed_migrations!` reads the migration folders when `db::migrate` is
//! compiled; a new folder is not a file cargo watches, so without this a
//! build keeps the migrations it embedded last (diesel's documented fix).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
