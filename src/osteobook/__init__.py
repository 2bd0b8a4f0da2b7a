"""Analysis code behind the Osteosarcoma Evidence Book."""
