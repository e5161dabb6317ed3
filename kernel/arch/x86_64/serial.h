#pragma once
void serial_init();
