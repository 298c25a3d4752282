//! Security descriptors from SDDL strings, for the pipes a listener creates.

use std::fmt;
use std::io;
use std::ptr;
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};

/// A self-relative security descriptor converted from SDDL, freed with `LocalFree`.
pub(crate) struct SecurityDescriptor {
    ptr: PSECURITY_DESCRIPTOR,
    sddl: String,
}

// SAFETY: the descriptor is a private heap block that is never written after creation;
// CreateNamedPipeW only reads it.
unsafe impl Send for SecurityDescriptor {}
// SAFETY: as above: shared read-only access.
unsafe impl Sync for SecurityDescriptor {}

impl SecurityDescriptor {
    /// `ConvertStringSecurityDescriptorToSecurityDescriptorW(SDDL_REVISION_1)`.
    ///
    /// A string Windows does not accept gives `InvalidInput` naming it.
    pub(crate) fn from_sddl(sddl: &str) -> io::Result<Self> {
        if sddl.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid SDDL security descriptor {sddl:?}: it contains a NUL character"),
            ));
        }
        let wide: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
        let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; `sd` is valid for writes; no size wanted.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid SDDL security descriptor {sddl:?}: {e}"),
            ));
        }
        Ok(Self {
            ptr: sd,
            sddl: sddl.to_owned(),
        })
    }

    /// Attributes pointing at this descriptor, not inheritable. Valid while `self` lives.
    pub(crate) fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            #[allow(clippy::cast_possible_truncation)] // a struct of 24 bytes
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.ptr,
            bInheritHandle: 0,
        }
    }
}

impl Drop for SecurityDescriptor {
    /// `LocalFree`.
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW
        // with LocalAlloc and is freed only here.
        unsafe { LocalFree(self.ptr) };
    }
}

impl fmt::Debug for SecurityDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecurityDescriptor")
            .field(&self.sddl)
            .finish()
    }
}
