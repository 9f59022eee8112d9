from dhcp_opt66.cli import main

main()
