//! Windows backend: named pipes. Not written yet (issue #3); nothing compiles it before then.

compile_error!("localipc's Windows backend is not written yet (issue #3)");
